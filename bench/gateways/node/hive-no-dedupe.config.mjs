// @graphql-hive/gateway with in-flight deduplication of subgraph requests turned off (it is on by
// default): with fifty identical queries in flight, deduplication answers most subgraph requests
// from one another, which a benchmark of one repeated query favours beyond real traffic.
export const gatewayConfig = {
  transportEntries: {
    "*": { options: { deduplicateInflightRequests: false } },
  },
};
