// The four demo subgraphs (accounts, inventory, products, reviews) of `xinfang bench gateways`,
// one Node.js process, one HTTP port each, graphql-js from tools/node (installed by
// scripts/install). Data is fixed (data.json), so each distinct request body is executed once
// by graphql-js and its answer bytes are served again from memory: the subgraphs must never be
// what a gateway benchmark measures. BENCH_SUBGRAPH_MEMO=0 executes every request;
// BENCH_SUBGRAPH_DATA=FILE serves other data (the tests use it to make gateways answer wrong).
// Prints {"accounts": url, ...} on one line once all four listen. GET /stats on any port answers
// {"accounts": {"requests": n, "executed": n}, ...} (executed: not served from memory).
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(new URL("../../../tools/node/package.json", import.meta.url));
const { buildSchema, execute, parse, validate, GraphQLError } = require("graphql");

const here = new URL(".", import.meta.url);
const data = JSON.parse(readFileSync(process.env.BENCH_SUBGRAPH_DATA || new URL("data.json", here), "utf8"));
const users = new Map(data.users.map((u) => [u.id, u]));
const products = new Map(data.products.map((p) => [p.upc, p]));
const reviewsBy = (key, value) => data.reviews.filter((r) => r[key] === value);
const memo = process.env.BENCH_SUBGRAPH_MEMO !== "0";

const FEDERATION = `
directive @link(url: String!, import: [String]) repeatable on SCHEMA
directive @key(fields: String!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE
directive @external on FIELD_DEFINITION | OBJECT
directive @requires(fields: String!) on FIELD_DEFINITION
directive @provides(fields: String!) on FIELD_DEFINITION
directive @shareable repeatable on OBJECT | FIELD_DEFINITION
scalar _Any
type _Service { sdl: String }
`;

const review = (r) => ({ __typename: "Review", id: r.id, body: r.body, authorId: r.authorId, upc: r.upc });

// Per subgraph: entity resolvers (representation -> object or null) and field resolvers.
const SUBGRAPHS = {
  accounts: {
    entities: { User: (rep) => users.get(rep.id) ?? null },
    fields: {
      Query: {
        me: () => users.get("1"),
        user: (_, { id }) => users.get(id) ?? null,
        users: () => data.users,
      },
    },
  },
  inventory: {
    entities: {
      Product: (rep) => {
        const product = products.get(rep.upc);
        if (!product) return null;
        // @requires: price and weight come from the representation, not from our data.
        return { upc: rep.upc, inStock: product.inStock, price: rep.price, weight: rep.weight };
      },
    },
    fields: {
      Product: {
        shippingEstimate: (p) => (p.price > 1000 ? 0 : p.weight / 2),
      },
    },
  },
  products: {
    entities: { Product: (rep) => products.get(rep.upc) ?? null },
    fields: { Query: { topProducts: (_, { first }) => data.products.slice(0, first) } },
  },
  reviews: {
    entities: {
      Review: (rep) => {
        const r = data.reviews.find((x) => x.id === rep.id);
        return r ? review(r) : null;
      },
      User: (rep) => (users.has(rep.id) ? { id: rep.id } : null),
      Product: (rep) => (products.has(rep.upc) ? { upc: rep.upc } : null),
    },
    fields: {
      Review: {
        author: (r) => ({ id: r.authorId, username: users.get(r.authorId).username }),
        product: (r) => ({ upc: r.upc }),
      },
      User: { reviews: (u) => reviewsBy("authorId", u.id).map(review) },
      Product: { reviews: (p) => reviewsBy("upc", p.upc).map(review) },
    },
  },
};

function subgraphSchema(name) {
  const sdl = readFileSync(new URL(`${name}.graphql`, here), "utf8");
  const { entities, fields } = SUBGRAPHS[name];
  const types = Object.keys(entities);
  const hasQuery = /^type Query\b/m.test(sdl);
  const root = `${hasQuery ? "extend type" : "type"} Query {
    _entities(representations: [_Any!]!): [_Entity]!
    _service: _Service!
  }
  union _Entity = ${types.join(" | ")}`;
  const schema = buildSchema(FEDERATION + sdl + root, { assumeValidSDL: true });
  for (const [typeName, resolvers] of Object.entries(fields)) {
    const typeFields = schema.getType(typeName).getFields();
    for (const [fieldName, resolve] of Object.entries(resolvers)) typeFields[fieldName].resolve = resolve;
  }
  const queryFields = schema.getQueryType().getFields();
  queryFields._service.resolve = () => ({ sdl });
  queryFields._entities.resolve = (_, { representations }) =>
    representations.map((rep) => {
      const resolve = entities[rep.__typename];
      if (!resolve) return new GraphQLError(`${name} has no entity ${rep.__typename}`);
      const found = resolve(rep);
      return found && { ...found, __typename: rep.__typename };
    });
  const entity = schema.getType("_Entity");
  entity.resolveType = (value) => value.__typename;
  const any = schema.getType("_Any");
  any.parseValue = (value) => value;
  return schema;
}

const stats = {};

function handler(name, schema) {
  const counts = (stats[name] = { requests: 0, executed: 0 });
  const documents = new Map();
  const answers = new Map();
  const answer = (body) => {
    let request;
    try {
      request = JSON.parse(body);
    } catch {
      return { status: 400, bytes: JSON.stringify({ errors: [{ message: "body is not JSON" }] }) };
    }
    let document = documents.get(request.query);
    if (!document) {
      try {
        document = parse(request.query);
      } catch (error) {
        return { status: 400, bytes: JSON.stringify({ errors: [error] }) };
      }
      const errors = validate(schema, document);
      if (errors.length) return { status: 400, bytes: JSON.stringify({ errors }) };
      documents.set(request.query, document);
    }
    const result = execute({
      schema,
      document,
      variableValues: request.variables,
      operationName: request.operationName,
    });
    return { status: 200, bytes: Buffer.from(JSON.stringify(result)) };
  };
  return (req, res) => {
    if (req.method === "GET" && req.url === "/stats") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(stats));
      return;
    }
    counts.requests += 1;
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let reply = memo ? answers.get(body) : undefined;
      if (!reply) {
        counts.executed += 1;
        reply = answer(body);
        if (memo && reply.status === 200 && answers.size < 10_000) answers.set(body, reply);
      }
      res.writeHead(reply.status, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(reply.bytes),
      });
      res.end(reply.bytes);
    });
  };
}

const urls = {};
await Promise.all(
  Object.keys(SUBGRAPHS).map(
    (name) =>
      new Promise((resolve) => {
        const server = createServer({ keepAliveTimeout: 120_000 }, handler(name, subgraphSchema(name)));
        server.headersTimeout = 130_000;
        server.listen(0, "127.0.0.1", () => {
          urls[name] = `http://127.0.0.1:${server.address().port}/graphql`;
          resolve();
        });
      }),
  ),
);
process.stdout.write(JSON.stringify(urls) + "\n");
