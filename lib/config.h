/* config.h - command-line flags with environment fallbacks, and --help.
 * A program lists its options in a table; each option's default is the value
 * already stored where it points. The environment overrides the default, a
 * flag overrides the environment. */
#ifndef RS_LIB_CONFIG_H
#define RS_LIB_CONFIG_H

enum opt_type {
	OPT_STR,  /* ptr is const char ** (points into argv/environ, not copied) */
	OPT_INT,  /* ptr is int * */
	OPT_FLAG, /* ptr is int *; present = 1; env "1"/"0" */
};

struct opt {
	const char *name; /* long flag without dashes, e.g. "port" */
	const char *env;  /* environment variable or NULL */
	enum opt_type type;
	void *ptr;
	const char *help;
};

/* Parses env then argv (--name value, --name=value). Returns 0 when the
 * program should run, 1 after printing --help to stdout (exit 0), -1 after
 * printing an error and the usage to stderr (exit 2). The table ends with an
 * entry whose name is NULL. */
int opt_parse(int argc, char **argv, const struct opt *opts, const char *summary);

/* The public port of the stack (env PORT, default 8080) plus offset: every
 * other port of the stack is derived from it (docs/INTERNALS.md). */
int cfg_stack_port(int offset);

#endif
