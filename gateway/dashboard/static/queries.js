// Every GraphQL document the dashboard sends, in one place: the page builds no query text of
// its own, so this module is the whole list a persisted-query allow-list would hold
// (tests/e2e checks that every request the page makes is one of these).
"use strict";

(function () {
  // The figures of one jurisdiction (docs/metrics.md; subtree figures: docs/adr/0013).
  const FIGURES = `fragment Figures on Stats {
  eventCount personCount receivedCount
  timelyAcceptanceRate onTimeReplyRate satisfactionRate
  backlog backlogResolutionRate overdue
  skipLevelVisits repeatPetitions firstPetitionReplyDays
  supervisionOrdersOpen supervisionOrdersOverdue asOf
}`;

  // The overview of one jurisdiction, answered by that jurisdiction's own node from its own
  // tables (no fan-out): its subtree, each child's last report, flows and categories.
  const OVERVIEW = `query DashboardOverview($code: ID!, $period: Period) {
  jurisdiction(code: $code) {
    code name tier
    parent { code name parent { code name parent { code name } } }
    subtreeStats(period: $period) { ...Figures }
    childStats(period: $period) {
      jurisdiction { code name tier }
      missing reportedAt
      stats { ...Figures }
    }
    escalationFlows(period: $period) { kind fromTier toTier count }
    topCategories(period: $period, first: 10) { category count }
  }
}
${FIGURES}`;

  // Overdue cases held by the jurisdiction itself and by each direct child (each node's own
  // cases, asked at that node): the list a leader works down, child by child.
  const OVERDUE = `query DashboardOverdue($code: ID!, $period: Period, $first: Int!) {
  jurisdiction(code: $code) {
    code name
    cases(filter: { overdue: true, period: $period }, first: $first) { ...OverdueCases }
    children {
      code name
      cases(filter: { overdue: true, period: $period }, first: $first) { ...OverdueCases }
    }
  }
}
fragment OverdueCases on CaseConnection {
  totalCount
  edges { node { id category status registeredAt deadlines { kind due overdue } } }
}`;

  // One petition's whole path across nodes (docs/adr/0014), with the case as its owner holds it.
  const TRAIL = `query DashboardTrail($caseId: ID!) {
  case(id: $caseId) {
    id status category registeredAt channel
    owner { code name tier }
    issueLocality { code name }
  }
  escalationTrail(caseId: $caseId) {
    at action role
    node { code name tier }
    deadline { kind due metAt held }
    note
    case { id status }
  }
}`;

  window.XinfangQueries = Object.freeze({ OVERVIEW, OVERDUE, TRAIL });
})();
