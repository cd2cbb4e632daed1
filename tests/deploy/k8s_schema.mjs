// k8s_schema.mjs - validates Kubernetes objects (a JSON array on stdin)
// against the API's JSON schemas shipped by the npm package kubernetes-models
// (Kubernetes 1.27). Prints one line per object; exits 1 on any error.
import { readFileSync } from "node:fs";

const docs = JSON.parse(readFileSync(0, "utf8"));
let bad = 0;
for (const doc of docs) {
  const [group, version] = doc.apiVersion.includes("/") ? doc.apiVersion.split("/") : [null, doc.apiVersion];
  const mod = `kubernetes-models/${group ? group + "/" : ""}${version}/${doc.kind}`;
  const name = `${doc.kind}/${doc.metadata?.name}`;
  let Model;
  try {
    Model = (await import(mod))[doc.kind];
  } catch (e) {
    console.log(`FAIL ${name}: no schema for ${doc.apiVersion} ${doc.kind}`);
    bad++;
    continue;
  }
  try {
    new Model(doc).validate();
    console.log(`ok   ${name}`);
  } catch (e) {
    console.log(`FAIL ${name}: ${e.message}`);
    bad++;
  }
}
process.exit(bad ? 1 : 0);
