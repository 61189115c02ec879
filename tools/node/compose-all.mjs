// Compose many Federation v2 supergraphs in one process with @theguild/federation-composition
// (the gateway tests compose every small supergraph of the suite with one call).
// stdin:  {"<id>": {"subgraphs": [{"name": "...", "url": "...", "sdl": "..."}]}, ...}
// stdout: {"<id>": {"supergraph": "<SDL>"} | {"errors": [{"message": "...", "code": "..."}]}, ...}
import { parse } from "graphql";
import { composeServices, compositionHasErrors } from "@theguild/federation-composition";

function compose(subgraphs) {
  try {
    const result = composeServices(
      subgraphs.map(({ name, url, sdl }) => ({ name, url, typeDefs: parse(sdl) })),
    );
    if (compositionHasErrors(result)) {
      return {
        errors: result.errors.map((e) => ({ message: e.message, code: e.extensions?.code ?? null })),
      };
    }
    return { supergraph: result.supergraphSdl };
  } catch (error) {
    return { errors: [{ message: String(error?.message ?? error), code: "PARSE_ERROR" }] };
  }
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const requests = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const output = {};
for (const [id, { subgraphs }] of Object.entries(requests)) output[id] = compose(subgraphs);
process.stdout.write(JSON.stringify(output));
