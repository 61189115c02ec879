// Compose a Federation v2 supergraph with @theguild/federation-composition (MIT).
// stdin:  {"subgraphs": [{"name": "...", "url": "...", "sdl": "..."}]}
// stdout: {"supergraph": "<SDL>"} or {"errors": [{"message": "...", "code": "..."}]}
import { parse } from "graphql";
import { composeServices, compositionHasErrors } from "@theguild/federation-composition";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { subgraphs } = JSON.parse(Buffer.concat(chunks).toString("utf8"));

let output;
try {
  const result = composeServices(
    subgraphs.map(({ name, url, sdl }) => ({ name, url, typeDefs: parse(sdl) })),
  );
  output = compositionHasErrors(result)
    ? {
        errors: result.errors.map((e) => ({
          message: e.message,
          code: e.extensions?.code ?? null,
        })),
      }
    : { supergraph: result.supergraphSdl };
} catch (error) {
  output = { errors: [{ message: String(error?.message ?? error), code: "PARSE_ERROR" }] };
}
process.stdout.write(JSON.stringify(output));
