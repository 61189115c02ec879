// The reference gateway for differential tests: @apollo/gateway behind @apollo/server, able to
// serve several supergraphs at once, each on its own free loopback port.
// Protocol: one JSON object per line on stdin, one JSON answer per line on stdout.
//   {"id": "a", "op": "load", "supergraph": "<SDL>", "urls": {"<subgraph>": "<url>"}}
//        -> {"id": "a", "url": "http://127.0.0.1:PORT/"}  (urls override the supergraph's)
//   {"id": "a", "op": "unload"} -> {"id": "a", "ok": true}
// Any failure -> {"id": ..., "error": "<message>"}. The process ends when stdin closes.
import readline from "node:readline";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";

const servers = new Map();
const reply = (message) => process.stdout.write(JSON.stringify(message) + "\n");
const quiet = { debug() {}, info() {}, warn() {}, error: (m) => console.error(m) };

async function load({ id, supergraph, urls }) {
  const gateway = new ApolloGateway({
    supergraphSdl: supergraph,
    logger: quiet,
    // The caller's token goes on to the subgraphs, as our gateway forwards it.
    buildService: ({ name, url }) =>
      new RemoteGraphQLDataSource({
        url: urls?.[name] ?? url,
        willSendRequest({ request, context }) {
          if (context?.authorization) request.http?.headers.set("authorization", context.authorization);
        },
      }),
  });
  const server = new ApolloServer({
    gateway,
    logger: quiet,
    includeStacktraceInErrorResponses: false,
    stopOnTerminationSignals: false, // the parent ends this process by closing stdin
  });
  const { url } = await startStandaloneServer(server, {
    listen: { host: "127.0.0.1", port: 0 },
    context: async ({ req }) => ({ authorization: req.headers.authorization }),
  });
  servers.set(id, server);
  return { id, url };
}

async function unload({ id }) {
  const server = servers.get(id);
  servers.delete(id);
  if (server) await server.stop();
  return { id, ok: true };
}

for await (const line of readline.createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  let message = {};
  try {
    message = JSON.parse(line);
    reply(message.op === "unload" ? await unload(message) : await load(message));
  } catch (error) {
    reply({ id: message.id ?? null, error: String(error?.message ?? error) });
  }
}
await Promise.all([...servers.values()].map((s) => s.stop()));
process.exit(0);
