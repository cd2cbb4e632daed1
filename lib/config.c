/* config.c - see config.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_int(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < -2147483647L || v > 2147483647L)
		return -1;
	*out = (int)v;
	return 0;
}

static int set_value(const struct opt *o, const char *val, const char *from)
{
	switch (o->type) {
	case OPT_STR: *(const char **)o->ptr = val; return 0;
	case OPT_INT:
		if (parse_int(val, (int *)o->ptr) == 0)
			return 0;
		fprintf(stderr, "%s: %s needs a whole number, got \"%s\"\n", from, o->name, val);
		return -1;
	case OPT_FLAG: *(int *)o->ptr = !(val[0] == '0' || val[0] == 0); return 0;
	}
	return -1;
}

static void usage(FILE *f, const char *prog, const struct opt *opts, const char *summary)
{
	fprintf(f, "usage: %s [options]\n%s\n\noptions:\n", prog, summary);
	for (const struct opt *o = opts; o->name; o++) {
		char flag[64], def[96] = "";

		snprintf(flag, sizeof(flag), "--%s%s", o->name,
		         o->type == OPT_FLAG  ? ""
		         : o->type == OPT_INT ? " N"
		                              : " S");
		if (o->type == OPT_STR && *(const char **)o->ptr)
			snprintf(def, sizeof(def), " (default %s)", *(const char **)o->ptr);
		else if (o->type == OPT_INT)
			snprintf(def, sizeof(def), " (default %d)", *(int *)o->ptr);
		fprintf(f, "  %-26s %s%s%s%s\n", flag, o->help, def, o->env ? "; env " : "",
		        o->env ? o->env : "");
	}
	fprintf(f, "  %-26s %s\n", "--help", "print this and exit");
}

int opt_parse(int argc, char **argv, const struct opt *opts, const char *summary)
{
	const char *prog = argv[0];

	for (const struct opt *o = opts; o->name; o++) {
		const char *v = o->env ? getenv(o->env) : NULL;

		if (v && *v && set_value(o, v, o->env) < 0)
			return -1;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq, *val = NULL;
		const struct opt *o;
		size_t n;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout, prog, opts, summary);
			return 1;
		}
		if (strncmp(a, "--", 2)) {
			fprintf(stderr, "%s: unexpected argument \"%s\"\n", prog, a);
			usage(stderr, prog, opts, summary);
			return -1;
		}
		a += 2;
		eq = strchr(a, '=');
		n = eq ? (size_t)(eq - a) : strlen(a);
		for (o = opts; o->name; o++)
			if (strlen(o->name) == n && !strncmp(o->name, a, n))
				break;
		if (!o->name) {
			fprintf(stderr, "%s: unknown option --%.*s\n", prog, (int)n, a);
			usage(stderr, prog, opts, summary);
			return -1;
		}
		if (eq)
			val = eq + 1;
		else if (o->type == OPT_FLAG)
			val = "1";
		else if (i + 1 < argc)
			val = argv[++i];
		else {
			fprintf(stderr, "%s: --%s needs a value\n", prog, o->name);
			return -1;
		}
		if (set_value(o, val, prog) < 0)
			return -1;
	}
	return 0;
}

int cfg_stack_port(int offset)
{
	const char *p = getenv("PORT");
	int port = 8080;

	if (p && *p && (parse_int(p, &port) < 0 || port <= 0 || port > 65535 - 200))
		port = 8080;
	return port + offset;
}
