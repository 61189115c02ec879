// 信访工作态势: the leaders' dashboard. Only the public GraphQL API (POST /graphql, and its
// graphql-transport-ws WebSocket for the live alerts), no build step; every document it sends is
// a file of static/queries/, given to it as queries.js.
"use strict";

const Q = window.XinfangQueries;
const DEFAULT_PROVINCE = "53";
const OVERDUE_PER_NODE = 20;
// A child whose last report is older than this is named as stale: a node refreshes every five
// minutes and after every write (docs/adr/0013), so a day without a report is worth a look.
const STALE_MS = 24 * 3600 * 1000;

const TIER = { PROVINCE: "省", CITY: "市（州）", COUNTY: "县（市、区）", TOWNSHIP: "乡镇（街道）" };
const CHILD_TIER = { PROVINCE: "市（州）", CITY: "县（市、区）", COUNTY: "乡镇（街道）", TOWNSHIP: "" };
const STATUS = {
  REGISTERED: "已登记", TRANSFERRED: "已转送", ASSIGNED: "已交办", NOT_ACCEPTED: "不予受理",
  REDIRECTED: "已引导", ACCEPTED: "已受理", IN_MEDIATION: "调解中", HANDLING: "办理中",
  REPLIED: "已答复", UNDER_REVIEW: "复查中", REVIEWED: "已复查", UNDER_FINAL_REVIEW: "复核中",
  CLOSED: "已办结",
};
const STEPS = {
  REGISTERED: "登记", ACCEPTED: "受理", NOT_ACCEPTED: "不予受理", REDIRECTED: "引导至法定途径",
  TRANSFERRED: "转送", ASSIGNED: "交办", COMPLETION_REPORTED: "报告办结", REPLIED: "答复",
  REVIEW_REQUESTED: "申请复查", REVIEW_DECIDED: "复查决定", FINAL_REVIEW_REQUESTED: "申请复核",
  FINAL_REVIEW_DECIDED: "复核决定", SUPERVISION_ORDERED: "督办", SUPERVISION_REPLIED: "督办回复",
  CLOSED: "办结",
};
const ROLES = {
  INTAKE: "登记窗口", GRID_WORKER: "网格员", PETITION_OFFICE: "信访工作机构", HANDLER: "办理机关",
  MEDIATOR: "调解组织", REVIEWER: "复查机关", FINAL_REVIEWER: "复核机关", SUPERVISOR: "督办机关",
};
const DEADLINES = {
  ACCEPTANCE: "受理期限", OBJECTION: "异议期限", HANDLING: "办理期限", ASSIGNMENT: "交办期限",
  REVIEW_REQUEST: "复查申请期限", REVIEW_DECISION: "复查决定期限",
  FINAL_REVIEW_REQUEST: "复核申请期限", FINAL_REVIEW_DECISION: "复核决定期限",
  FAST_TRACK_MEETING: "速办见面", FAST_TRACK_FACTS: "速办查清事实", FAST_TRACK_REPLY: "速办答复",
  SUPERVISION_REPLY: "督办回复期限",
};
const FLOWS = {
  TRANSFER: "转送", ASSIGNMENT: "交办", REVIEW: "复查", FINAL_REVIEW: "复核",
  SKIP_LEVEL_VISIT: "越级访", SUPERVISION_ORDER: "督办",
};
const TIER_SHORT = { PROVINCE: "省", CITY: "市", COUNTY: "县", TOWNSHIP: "乡" };
const PERIODS = { month: "本月", lastMonth: "上月", quarter: "本季度", year: "本年", custom: "自定义" };

const charts = {};
let renderSeq = 0;

// ECharts comes after this script (index.html), so the first requests are on their way while
// it compiles; a view renders once its answers and ECharts are both there. A failed load
// resolves too: the page then shows its tables without charts.
const chartsLoaded = new Promise((resolve) => {
  if (window.echarts) { resolve(); return; }
  const script = document.getElementById("echarts-script");
  if (!script) { resolve(); return; }
  script.addEventListener("load", resolve);
  script.addEventListener("error", resolve);
});

function $(id) { return document.getElementById(id); }

// --- sign-in ------------------------------------------------------------------------------------

// Open the page once as /dashboard?token=<JWT> (e.g. from `xinfang token`); the token is kept in
// sessionStorage (this tab only) and taken out of the address bar.
function token() {
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get("token");
  if (fromUrl) {
    sessionStorage.setItem("xinfang.token", fromUrl);
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", `${location.pathname}${rest ? `?${rest}` : ""}${location.hash}`);
  }
  return sessionStorage.getItem("xinfang.token");
}

// The signed-in user's jurisdiction (the token's claim; the gateway checks it, this only picks
// where the page starts).
function tokenJurisdiction() {
  const bearer = token();
  if (!bearer) return null;
  try {
    const part = bearer.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
    return typeof claims.jurisdiction === "string" ? claims.jurisdiction : null;
  } catch {
    return null;
  }
}

async function gql(query, variables) {
  const headers = { "content-type": "application/json", accept: "application/json" };
  const bearer = token();
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const response = await fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  let body;
  try { body = await response.json(); } catch { body = null; }
  if (!body || (!("data" in body) && !("errors" in body))) {
    throw new Error(`网关无响应（HTTP ${response.status}）`);
  }
  return { data: body.data || null, errors: body.errors || [] };
}

// --- period and place (kept in the URL hash, so history and links keep them) ----------------------

function isoDay(d) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function presetPeriod(preset, today = new Date()) {
  const y = today.getFullYear(), m = today.getMonth();
  switch (preset) {
    case "month": return { from: isoDay(new Date(y, m, 1)), to: isoDay(today) };
    case "lastMonth": return { from: isoDay(new Date(y, m - 1, 1)), to: isoDay(new Date(y, m, 0)) };
    case "quarter": return { from: isoDay(new Date(y, m - (m % 3), 1)), to: isoDay(today) };
    default: return { from: isoDay(new Date(y, 0, 1)), to: isoDay(today) };
  }
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function readHash() {
  const h = new URLSearchParams(location.hash.slice(1));
  let preset = h.get("period") || "year";
  if (!(preset in PERIODS)) preset = "year";
  let period = presetPeriod(preset);
  if (preset === "custom") {
    const from = h.get("from"), to = h.get("to");
    if (from && to && DAY.test(from) && DAY.test(to)) period = { from, to };
    else preset = "year";
  }
  return { code: h.get("code"), caseId: h.get("case"), preset, period };
}

function hashFor({ code, caseId, preset, period }) {
  const h = new URLSearchParams();
  if (caseId) h.set("case", caseId);
  else if (code) h.set("code", code);
  h.set("period", preset);
  if (preset === "custom") { h.set("from", period.from); h.set("to", period.to); }
  return `#${h.toString()}`;
}

function go(change) {
  const next = hashFor({ ...readHash(), ...change });
  if (next !== location.hash) location.hash = next; // hashchange renders
  else route();
}

function linkTo(change) { return hashFor({ ...readHash(), caseId: null, ...change }); }

// --- formatting -----------------------------------------------------------------------------------

function pct(x) { return x === null || x === undefined ? "—" : `${(x * 100).toFixed(2)}%`; }
function num(x) { return x === null || x === undefined ? "—" : Number(x).toLocaleString("zh-CN"); }
function days(x) { return x === null || x === undefined ? "—" : x.toFixed(1); }
function when(iso) { return iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false }) : "—"; }
function day(iso) { return iso ? new Date(iso).toLocaleDateString("zh-CN") : "—"; }

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function linkCell(text, href, cls) {
  const td = document.createElement("td");
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  td.append(a);
  if (cls) td.className = cls;
  return td;
}

function row(...cells) {
  const tr = document.createElement("tr");
  tr.append(...cells);
  return tr;
}

const ERRORS = {
  SUBGRAPH_UNAVAILABLE: "辖区服务暂未响应，请稍后再试",
  UNAUTHENTICATED: "请先登录（令牌无效或已过期）",
  FORBIDDEN: "无权查看该辖区",
  NOT_FOUND: "未找到",
  CASE_NOT_FOUND: "未找到该案件",
  BAD_USER_INPUT: "查询条件有误",
};

function describe(error, fallback) {
  if (!error) return fallback;
  const code = error.extensions?.code;
  const known = ERRORS[code];
  return known ? `${known}（${code}）` : error.message || fallback;
}

function setStatus(text, error = false) {
  const s = $("status");
  s.textContent = text;
  s.classList.toggle("error", error);
}

// --- missing and stale jurisdictions --------------------------------------------------------------

// The node an error belongs to: the nodes the gateway names (SUBGRAPH_UNAVAILABLE), else the
// child whose part of the answer it is (a path jurisdiction.children.N...), else none.
function errorNodes(error, children = []) {
  const ext = error.extensions || {};
  if (ext.nodes?.length) return ext.nodes;
  const path = error.path || [];
  if (path[0] === "jurisdiction" && path[1] === "children" && children[path[2]]) return [children[path[2]].code];
  if (ext.code === "SUBGRAPH_UNAVAILABLE" && ext.serviceName) return [ext.serviceName];
  return [];
}

function unavailableNodes(errors, children = []) {
  return [...new Set(errors.flatMap((e) => errorNodes(e, children)))];
}

// The banner names every jurisdiction whose figures are not in the page: children that never
// reported, children whose last report is old, and nodes that did not answer this request.
function showBanner({ unavailable, missing, stale }, names) {
  const box = $("missing");
  const label = (c) => (names.get(c) ? `${names.get(c)}（${c}）` : c);
  const parts = [];
  if (unavailable.length) parts.push(`暂未响应：${unavailable.map(label).join("、")}`);
  if (missing.length) parts.push(`从未上报：${missing.map(label).join("、")}`);
  if (stale.length) parts.push(`超过24小时未上报：${stale.map((s) => `${label(s.code)} 上报于 ${when(s.at)}`).join("、")}`);
  box.hidden = parts.length === 0;
  box.textContent = parts.length ? `以下辖区的数据不完整，其余照常显示。${parts.join("；")}` : "";
  box.dataset.codes = [...unavailable, ...missing, ...stale.map((s) => s.code)].join(",");
}

// --- overview -------------------------------------------------------------------------------------

function renderBreadcrumb(j) {
  const chain = [];
  for (let p = j.parent; p; p = p.parent) chain.unshift(p);
  const nav = $("breadcrumb");
  nav.replaceChildren();
  [...chain, j].forEach((node, i, all) => {
    if (i) { const s = document.createElement("span"); s.className = "sep"; s.textContent = "›"; nav.append(s); }
    if (i === all.length - 1) { const b = document.createElement("strong"); b.textContent = node.name; nav.append(b); }
    else { const a = document.createElement("a"); a.href = linkTo({ code: node.code }); a.textContent = node.name; nav.append(a); }
  });
}

function renderCards(s) {
  const items = [
    ["件次", num(s?.eventCount), `人次 ${num(s?.personCount)}；转来 ${num(s?.receivedCount)}`],
    ["及时受理率", pct(s?.timelyAcceptanceRate), "15日内告知受理 / 应受理"],
    ["按期办结率", pct(s?.onTimeReplyRate), "按期答复 / 应答复（60日，含延期）"],
    ["群众满意率", pct(s?.satisfactionRate), "满意与基本满意 / 已评价"],
    ["积案", num(s?.backlog), `积案化解率 ${pct(s?.backlogResolutionRate)}`],
    ["超期", num(s?.overdue), "有义务逾期未履行的在办件"],
    ["督办", `${num(s?.supervisionOrdersOpen)} 件未复`, `其中超期 ${num(s?.supervisionOrdersOverdue)} 件`],
    ["初信初访用时", `${days(s?.firstPetitionReplyDays)} 天`, "登记至答复的平均天数"],
    ["越级访", num(s?.skipLevelVisits), `重复访 ${num(s?.repeatPetitions)}`],
  ];
  $("cards").replaceChildren(...items.map(([label, value, note]) => {
    const div = document.createElement("div");
    div.className = "card";
    div.dataset.metric = label;
    for (const [cls, text] of [["label", label], ["value", value], ["note", note]]) {
      const part = document.createElement("div");
      part.className = cls;
      part.textContent = text;
      div.append(part);
    }
    return div;
  }));
}

function renderChildren(j, children, unavailable) {
  $("children-title").textContent = `下级辖区：${CHILD_TIER[j.tier] || ""}（${children.length}）`;
  const rows = children.map((c) => {
    const s = c.stats;
    const tr = row(
      linkCell(c.jurisdiction.name, linkTo({ code: c.jurisdiction.code })), cell(c.jurisdiction.code, "text"),
      cell(num(s?.eventCount)), cell(num(s?.personCount)), cell(pct(s?.timelyAcceptanceRate)),
      cell(pct(s?.onTimeReplyRate)), cell(pct(s?.satisfactionRate)), cell(num(s?.backlog)),
      cell(pct(s?.backlogResolutionRate)), cell(num(s?.overdue)), cell(num(s?.supervisionOrdersOpen)),
      cell(num(s?.supervisionOrdersOverdue)), cell(num(s?.skipLevelVisits)), cell(num(s?.repeatPetitions)),
      cell(days(s?.firstPetitionReplyDays)), cell(c.missing ? "从未上报" : when(c.reportedAt), "text"),
    );
    tr.dataset.code = c.jurisdiction.code;
    if (c.missing || !s || unavailable.includes(c.jurisdiction.code)) tr.className = "unavailable";
    return tr;
  });
  $("children-table").tBodies[0].replaceChildren(...rows);
}

function renderOverdue(own, overdueData) {
  const groups = [];
  const j = overdueData?.jurisdiction;
  if (j) {
    groups.push({ code: j.code, name: `${j.name}（本级）`, cases: j.cases });
    for (const c of j.children || []) groups.push({ code: c.code, name: c.name, cases: c.cases });
  }
  const rows = [];
  const more = [];
  for (const g of groups) {
    if (!g.cases) continue; // that node did not answer: named in the banner
    for (const { node } of g.cases.edges) {
      const late = node.deadlines.filter((d) => d.overdue);
      const tr = row(
        g.code === own ? cell(g.name, "text") : linkCell(g.name, linkTo({ code: g.code }), "text"),
        linkCell(node.id, linkTo({ caseId: node.id }), "text"),
        cell(node.category, "text"), cell(STATUS[node.status] || node.status, "text"), cell(when(node.registeredAt)),
        cell(late.map((d) => DEADLINES[d.kind] || d.kind).join("、"), "text late"),
        cell(late.map((d) => day(d.due)).join("、"), "text"),
      );
      tr.dataset.code = g.code;
      rows.push(tr);
    }
    if (g.cases.totalCount > g.cases.edges.length) more.push(`${g.name} 共 ${g.cases.totalCount} 件，显示 ${g.cases.edges.length} 件`);
  }
  if (!rows.length) rows.push(row(Object.assign(cell("本期无超期件", "text"), { colSpan: 7 })));
  $("overdue-table").tBodies[0].replaceChildren(...rows);
  $("overdue-more").textContent = more.join("；");
}

function renderFlowsTable(flows) {
  const rows = flows.map((f) => row(cell(FLOWS[f.kind] || f.kind, "text"), cell(TIER_SHORT[f.fromTier] || f.fromTier, "text"),
    cell(TIER_SHORT[f.toTier] || f.toTier, "text"), cell(num(f.count))));
  if (!rows.length) rows.push(row(Object.assign(cell("本期无层级流转", "text"), { colSpan: 4 })));
  $("flows-table").tBodies[0].replaceChildren(...rows);
}

function renderCategoriesTable(categories, total) {
  const rows = categories.map((c) => row(cell(c.category, "text"), cell(num(c.count)), cell(total ? pct(c.count / total) : "—")));
  if (!rows.length) rows.push(row(Object.assign(cell("本期无新登记信访事项", "text"), { colSpan: 3 })));
  $("categories-table").tBodies[0].replaceChildren(...rows);
}

// --- charts ---------------------------------------------------------------------------------------

function chart(id) {
  if (!window.echarts) return null;
  if (!charts[id]) {
    charts[id] = echarts.init($(id), null, { renderer: "canvas" });
    if (id === "chart-tree") {
      charts[id].on("click", (p) => { if (p.data?.code) go({ code: p.data.code, caseId: null }); });
    }
  }
  return charts[id];
}

// Draws every chart and resolves once each has painted a frame (ECharts' `rendered`, or
// `finished`, whichever comes first: a chart whose option did not change paints nothing new and
// may skip `finished`): the page is "ready" only then. No animation: the bench and a leader both
// want the figures at once.
function drawCharts(options) {
  const drawn = [];
  for (const [id, option] of Object.entries(options)) {
    const c = chart(id);
    if (!c) continue;
    drawn.push(new Promise((resolve) => {
      const done = () => { c.off("finished", done); c.off("rendered", done); resolve(); };
      c.on("finished", done);
      c.on("rendered", done);
      c.clear(); // a treemap given new data with notMerge alone keeps drawing the old tree
      c.resize(); // to its panel as it is now, before drawing (once, not twice)
      c.setOption({ animation: false, ...option }, true);
    }));
  }
  return Promise.all(drawn);
}

function childOptions(children) {
  const names = children.map((c) => c.jurisdiction.name);
  const rate = (key) => children.map((c) => (c.stats && c.stats[key] !== null ? +(c.stats[key] * 100).toFixed(2) : null));
  const axis = { type: "category", data: names, axisLabel: { rotate: names.length > 6 ? 40 : 0, interval: 0, fontSize: 11 } };
  return {
    "chart-tree": {
      tooltip: {
        formatter: (p) => `${p.name}<br>件次 ${num(p.data.events)}<br>超期 ${num(p.data.value[1])}（${pct(p.data.value[2])}）`,
      },
      series: [{
        type: "treemap", roam: false, nodeClick: false, breadcrumb: { show: false },
        width: "100%", height: "100%", top: 0, left: 0,
        levels: [{
          visualDimension: 2, visualMin: 0, visualMax: 0.2, colorMappingBy: "value",
          color: ["#3f8f5f", "#e0b33a", "#c0392b"], itemStyle: { gapWidth: 2, borderColor: "#fff" },
        }],
        label: { show: true, formatter: (p) => `${p.name}\n${num(p.data.events)}` },
        data: children.map((c) => {
          const events = c.stats?.eventCount ?? 0;
          const overdue = c.stats?.overdue ?? 0;
          // Area by events; a child with none keeps a small tile, so it can still be clicked.
          return { name: c.jurisdiction.name, code: c.jurisdiction.code, events, value: [Math.max(events, 1), overdue, events ? overdue / events : 0] };
        }),
      }],
    },
    "chart-rates": {
      tooltip: { trigger: "axis", valueFormatter: (v) => (v === null || v === undefined ? "—" : `${v}%`) },
      legend: { top: 0, data: ["及时受理率", "按期办结率", "群众满意率"] },
      grid: { left: 45, right: 10, top: 35, bottom: 5, containLabel: true },
      xAxis: axis,
      yAxis: { type: "value", min: (v) => Math.max(0, Math.floor(v.min - 2)), max: 100 },
      series: [
        { name: "及时受理率", type: "bar", data: rate("timelyAcceptanceRate") },
        { name: "按期办结率", type: "bar", data: rate("onTimeReplyRate") },
        { name: "群众满意率", type: "bar", data: rate("satisfactionRate") },
      ],
    },
    "chart-backlog": {
      tooltip: { trigger: "axis" },
      legend: { top: 0, data: ["积案", "超期", "积案化解率"] },
      grid: { left: 45, right: 45, top: 35, bottom: 5, containLabel: true },
      xAxis: axis,
      yAxis: [{ type: "value", minInterval: 1 }, { type: "value", max: 100, axisLabel: { formatter: "{value}%" } }],
      series: [
        { name: "积案", type: "bar", data: children.map((c) => c.stats?.backlog ?? null) },
        { name: "超期", type: "bar", data: children.map((c) => c.stats?.overdue ?? null) },
        { name: "积案化解率", type: "line", yAxisIndex: 1, data: rate("backlogResolutionRate") },
      ],
    },
  };
}

// The flows as a three-column sankey: the tier that acted or sent, the kind of act, the tier it
// went to (a sankey needs no cycles, and "county → city" and "city → county" are both real).
function flowOptions(flows) {
  const nodes = new Map();
  const links = new Map();
  const add = (source, target, value) => {
    nodes.set(source, true); nodes.set(target, true);
    const key = `${source}\u0000${target}`;
    links.set(key, (links.get(key) || 0) + value);
  };
  for (const f of flows) {
    if (!f.count) continue;
    const from = `${TIER_SHORT[f.fromTier] || f.fromTier}级发起`;
    const kind = FLOWS[f.kind] || f.kind;
    const to = `至${TIER_SHORT[f.toTier] || f.toTier}级`;
    add(from, kind, f.count);
    add(kind, to, f.count);
  }
  const series = {
    type: "sankey", left: 10, right: 70, top: 10, bottom: 10, nodeGap: 10, emphasis: { focus: "adjacency" },
    data: [...nodes.keys()].map((name) => ({ name })),
    links: [...links].map(([key, value]) => { const [source, target] = key.split("\u0000"); return { source, target, value }; }),
  };
  return {
    tooltip: { trigger: "item" },
    title: nodes.size ? undefined : { text: "本期无层级流转", left: "center", top: "middle", textStyle: { fontSize: 14, color: "#888" } },
    series: nodes.size ? [series] : [],
  };
}

function categoryOptions(categories) {
  const top = [...categories].reverse();
  return {
    tooltip: { trigger: "axis" },
    grid: { left: 110, right: 20, top: 10, bottom: 30 },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", data: top.map((c) => c.category) },
    series: [{ name: "件次", type: "bar", data: top.map((c) => c.count) }],
    title: categories.length ? undefined : { text: "本期无新登记信访事项", left: "center", top: "middle", textStyle: { fontSize: 14, color: "#888" } },
  };
}

// --- early warnings (docs/adr/0016) ---------------------------------------------------------------

// The panel counts and lists the subtree's open and acknowledged alerts at MIN_SEVERITY or above,
// and hears new ones live at the same threshold, so the counts it bumps are the ones it shows.
const MIN_SEVERITY = "WARNING";
const ALERTS_SHOWN = 20;
const SEVERITY_ORDER = ["CRITICAL", "SEVERE", "WARNING", "INFO"];
const SEVERITIES = { CRITICAL: "紧急", SEVERE: "严重", WARNING: "警示", INFO: "提示" };
const SHOWN_SEVERITIES = SEVERITY_ORDER.slice(0, SEVERITY_ORDER.indexOf(MIN_SEVERITY) + 1);
const ALERT_KINDS = {
  DEADLINE_APPROACHING: "临近期限", OVERDUE: "超期", SURGE: "突增", COLLECTIVE_VISIT: "集体访",
  REPEAT_PETITIONER: "重复访", SECOND_REVIEW: "进入复核",
};
const CHILD_CODE_LENGTH = { 2: 4, 4: 6, 6: 9 };
const RESYNC_MS = 2000; // after the last live alert: the counts asked again, exact
const LIVE_STATES = {
  off: "实时推送：未连接", connecting: "实时推送：连接中…", live: "实时推送：已连接",
  reconnecting: "实时推送：连接中断，正在重连…", error: "实时推送不可用",
};

// What the panel shows for the place on the page: the list query's answer with every alert
// heard live since merged in (by id, the newer version winning).
let alertState = null;

function severityBadge(severity) {
  const span = document.createElement("span");
  span.className = `severity severity-${severity}`;
  span.textContent = SEVERITIES[severity] || severity;
  return span;
}

// The rules write their detail in English (shared/alerts.py); the page says it in Chinese when
// it knows the form, and keeps the original as the cell's title.
function alertText(a) {
  const d = a.detail || "";
  let m;
  switch (a.kind) {
    case "COLLECTIVE_VISIT":
      if ((m = /of (\d+) persons/.exec(d))) return `${m[1]}人集体来访`;
      break;
    case "DEADLINE_APPROACHING":
      if ((m = /^(\w+) due/.exec(d))) return `${DEADLINES[m[1]] || m[1]}将于 ${when(a.due)} 届满`;
      break;
    case "OVERDUE":
      if ((m = /^(\w+) overdue by (\d+) days/.exec(d))) return `${DEADLINES[m[1]] || m[1]}已超期 ${m[2]} 天`;
      break;
    case "REPEAT_PETITIONER":
      if ((m = /earlier: ([^)]+)\)/.exec(d))) return `同一事项再次信访（前次 ${m[1]}）`;
      break;
    case "SECOND_REVIEW":
      return "信访事项已申请复核";
    case "SURGE":
      if ((m = /^(\d+) on \S+ against a baseline of ([\d.]+)/.exec(d))) {
        return `${a.category ? `“${a.category}”` : "属地"}当日 ${m[1]} 件，近期日均 ${m[2]} 件`;
      }
      break;
    default:
  }
  return d;
}

function childOfAlert(code, origin) {
  const length = CHILD_CODE_LENGTH[code.length];
  return length && origin.length >= length && origin.startsWith(code) ? origin.slice(0, length) : null;
}

function tallyOf(counts) {
  const bySeverity = Object.fromEntries(SEVERITY_ORDER.map((s) => [s, 0]));
  for (const { severity, count } of counts?.bySeverity || []) bySeverity[severity] = count;
  return { total: counts?.total ?? 0, bySeverity };
}

function alertStateOf(code, data) {
  const j = data?.jurisdiction;
  if (!j?.alertCounts || !j.alerts) return null;
  return {
    code,
    subtree: tallyOf(j.alertCounts.subtree),
    children: j.alertCounts.byChild.map((c) => ({ code: c.jurisdiction.code, name: c.jurisdiction.name, ...tallyOf(c.counts) })),
    list: j.alerts.edges.map((e) => e.node),
    totalCount: j.alerts.totalCount,
    fresh: new Map(), // alert id → when its highlight ends (performance.now())
  };
}

function bump(tally, severity, by) {
  tally.total += by;
  tally.bySeverity[severity] = (tally.bySeverity[severity] || 0) + by;
}

// One alert heard live, merged in: at the top of the list (replacing an older version of it),
// and counted (moved from its old severity when the list holds it; a later resync makes the
// counts exact whatever this guessed). False when the page already had this version.
function mergeAlert(state, a) {
  const index = state.list.findIndex((x) => x.id === a.id);
  const before = index >= 0 ? state.list[index] : null;
  if (before && before.version >= a.version) return false;
  if (before) state.list.splice(index, 1);
  state.list.unshift(a);
  state.list.length = Math.min(state.list.length, ALERTS_SHOWN);
  const childCode = childOfAlert(state.code, a.jurisdiction.code);
  const child = state.children.find((c) => c.code === childCode);
  for (const tally of [state.subtree, child].filter(Boolean)) {
    if (before) { bump(tally, before.severity, -1); bump(tally, a.severity, 1); }
    else bump(tally, a.severity, 1);
  }
  if (!before) state.totalCount += 1;
  state.fresh.set(a.id, performance.now() + 4000);
  if (child) state.fresh.set(`child:${child.code}`, performance.now() + 4000);
  return true;
}

function renderAlerts(state, error) {
  const shownSeverities = SHOWN_SEVERITIES;
  const now = performance.now();
  const fresh = (key) => (state?.fresh.get(key) || 0) > now;
  $("alerts-title").textContent = `预警（${SEVERITIES[MIN_SEVERITY]}及以上，未解除）`;
  if (!state) {
    $("alert-severity-table").tBodies[0].replaceChildren();
    $("alerts-total").textContent = "—";
    $("alert-children-table").tBodies[0].replaceChildren();
    $("alerts-list").replaceChildren(row(Object.assign(cell(error || "预警暂未加载", "text"), { colSpan: 6 })));
    $("alerts-more").textContent = "";
    return;
  }
  $("alert-severity-table").tBodies[0].replaceChildren(...shownSeverities.map((s) => {
    const label = document.createElement("th");
    label.scope = "row";
    label.append(severityBadge(s));
    const tr = row(label, cell(num(state.subtree.bySeverity[s])));
    tr.dataset.severity = s;
    return tr;
  }));
  $("alerts-total").textContent = num(state.subtree.total);
  $("alerts-total").classList.toggle("fresh", [...state.fresh.values()].some((t) => t > now));
  const children = [...state.children].sort((a, b) => b.total - a.total || a.code.localeCompare(b.code));
  $("alert-children-table").tBodies[0].replaceChildren(...children.map((c) => {
    const tr = row(
      linkCell(c.name, linkTo({ code: c.code }), "text"), cell(num(c.total)),
      ...shownSeverities.map((s) => cell(num(c.bySeverity[s]))),
    );
    tr.dataset.code = c.code;
    if (fresh(`child:${c.code}`)) tr.className = "fresh";
    return tr;
  }));
  const rows = state.list.map((a) => {
    const place = a.jurisdiction.code === state.code ? cell(a.jurisdiction.name, "text")
      : linkCell(a.jurisdiction.name, linkTo({ code: a.jurisdiction.code }), "text");
    const level = cell("", "text");
    level.append(severityBadge(a.severity));
    const text = cell(alertText(a), "text wrap");
    text.title = a.detail;
    const tr = row(
      cell(when(a.raisedAt)), level, cell(ALERT_KINDS[a.kind] || a.kind, "text"), place, text,
      a.caseId ? linkCell(a.caseId, linkTo({ caseId: a.caseId }), "text") : cell("", "text"),
    );
    tr.dataset.id = a.id;
    tr.dataset.severity = a.severity;
    tr.dataset.kind = a.kind;
    if (fresh(a.id)) tr.className = "fresh";
    return tr;
  });
  if (!rows.length) rows.push(row(Object.assign(cell("暂无未解除的预警", "text"), { colSpan: 6 })));
  $("alerts-list").replaceChildren(...rows);
  $("alerts-more").textContent = state.totalCount > state.list.length
    ? `共 ${num(state.totalCount)} 条，显示最新 ${state.list.length} 条` : "";
}

// --- the live channel: graphql-transport-ws on the gateway's /graphql ------------------------------

const live = {
  socket: null, acked: false, code: null, operation: null, sequence: 0, retries: 0, timer: null,
  resync: null, resyncing: null, // the resync's timer; what was heard while it is asked
  heard: [], // alerts heard before the panel's list answered (this place)
};

function setLive(state, detail = "") {
  const badge = $("alerts-live");
  badge.dataset.state = state;
  badge.textContent = detail ? `${LIVE_STATES[state]}（${detail}）` : LIVE_STATES[state];
  document.documentElement.dataset.live = state;
}

function liveSend(message) {
  if (live.socket?.readyState === WebSocket.OPEN) live.socket.send(JSON.stringify(message));
}

// Listen to ``code``'s alerts: the socket opened if need be, the old subscription completed.
// Called before the place's queries go out, so an alert raised meanwhile is not missed.
function watchAlerts(code) {
  if (!token()) return;
  if (live.code !== code) live.heard = [];
  const same = live.code === code && live.operation;
  live.code = code;
  if (!live.socket) connectLive();
  else if (live.acked && !same) subscribeLive();
}

function stopAlerts() {
  if (live.operation) liveSend({ id: live.operation, type: "complete" });
  live.operation = null;
  live.code = null;
  clearTimeout(live.resync);
  if (live.socket) setLive("off");
}

function connectLive() {
  clearTimeout(live.timer);
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/graphql`, "graphql-transport-ws");
  live.socket = socket;
  live.acked = false;
  live.operation = null;
  setLive(live.retries ? "reconnecting" : "connecting");
  socket.addEventListener("open", () => {
    socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token()}` } }));
  });
  socket.addEventListener("message", (event) => {
    if (socket !== live.socket) return;
    let message;
    try { message = JSON.parse(event.data); } catch { return; }
    onLiveMessage(message);
  });
  socket.addEventListener("close", (event) => {
    if (socket !== live.socket) return;
    live.socket = null;
    live.acked = false;
    live.operation = null;
    // 4401/4403: the token is missing, invalid or expired; 4406: no such protocol. Retrying
    // would not help: a new sign-in (a reload with ?token=) does.
    if ([4401, 4403, 4406].includes(event.code)) { setLive("error", "请重新登录"); return; }
    const delay = Math.min(30_000, 1000 * 2 ** live.retries) * (0.5 + Math.random() / 2);
    live.retries += 1;
    setLive("reconnecting");
    live.timer = setTimeout(() => { if (live.code) connectLive(); else setLive("off"); }, delay);
  });
}

function subscribeLive() {
  if (live.operation) liveSend({ id: live.operation, type: "complete" });
  live.operation = `alerts-${++live.sequence}`;
  liveSend({
    id: live.operation, type: "subscribe",
    payload: { query: Q.ALERTS_LIVE, variables: { code: live.code, minSeverity: MIN_SEVERITY } },
  });
  setLive("live");
}

function onLiveMessage(message) {
  switch (message.type) {
    case "connection_ack": {
      const reconnected = live.retries > 0;
      live.acked = true;
      live.retries = 0;
      if (live.code) subscribeLive();
      if (reconnected) scheduleResync(0); // what was raised while the socket was down
      break;
    }
    case "ping": liveSend({ type: "pong" }); break;
    case "next": {
      if (message.id !== live.operation) break;
      const alert = message.payload?.data?.alertRaised;
      if (alert) alertHeard(alert);
      else if (message.payload?.errors?.length) setLive("error", describe(message.payload.errors[0], ""));
      break;
    }
    case "error":
      if (message.id !== live.operation) break;
      live.operation = null;
      setLive("error", describe(message.payload?.[0], ""));
      // The node went away: subscribe again once it may be back (the socket itself is fine).
      if (message.payload?.[0]?.extensions?.code === "SUBGRAPH_UNAVAILABLE") {
        const delay = Math.min(30_000, 1000 * 2 ** live.retries++);
        clearTimeout(live.timer);
        live.timer = setTimeout(() => { if (live.code && live.acked && !live.operation) subscribeLive(); }, delay);
      }
      break;
    case "complete":
      if (message.id === live.operation) { live.operation = null; setLive("off"); }
      break;
    default:
  }
}

function alertHeard(alert) {
  if (!alertState || alertState.code !== live.code) { live.heard.push(alert); return; }
  live.resyncing?.push(alert);
  if (mergeAlert(alertState, alert)) renderAlerts(alertState);
  scheduleResync(RESYNC_MS);
}

// The counts asked again once live alerts stop coming: exact, whatever the merge guessed (an
// alert that rose from below the threshold, one the list's answer had counted already). What is
// heard while the answer is on its way is merged into it again.
function scheduleResync(ms) {
  clearTimeout(live.resync);
  live.resync = setTimeout(async () => {
    const code = alertState?.code;
    if (!code || code !== live.code) return;
    const heard = [];
    live.resyncing = heard;
    let answer;
    try {
      answer = await gql(Q.ALERTS, { code, minSeverity: MIN_SEVERITY, first: ALERTS_SHOWN });
    } finally {
      if (live.resyncing === heard) live.resyncing = null;
    }
    const fresh = alertStateOf(code, answer.data);
    if (!fresh || !alertState || alertState.code !== code) return;
    fresh.fresh = alertState.fresh; // the highlights run on
    for (const alert of heard) mergeAlert(fresh, alert);
    alertState = fresh;
    renderAlerts(alertState);
    window.alertResyncs = (window.alertResyncs || 0) + 1; // for the tests: the counts asked again
  }, ms);
}

// The panel's query answered for ``code``: shown, with whatever was heard meanwhile merged in.
function showAlerts(code, answer) {
  alertState = alertStateOf(code, answer.data);
  if (!alertState) {
    renderAlerts(null, describe(answer.errors[0], "预警暂未加载"));
    return;
  }
  const heard = live.code === code ? live.heard.splice(0) : [];
  let merged = false;
  for (const alert of heard) merged = mergeAlert(alertState, alert) || merged;
  renderAlerts(alertState);
  if (merged) scheduleResync(RESYNC_MS);
}

// --- the views ------------------------------------------------------------------------------------

// The marker tests and the bench wait for: set once every request of the view has finished and
// every chart has drawn, with what was drawn (the place and the period).
function ready(view, seq, place = "", period = null) {
  if (seq !== renderSeq) return;
  const root = document.documentElement.dataset;
  root.place = place;
  root.period = period ? `${period.from}/${period.to}` : "";
  root.ready = view;
  window.dashboardReadyAt = performance.now();
}

async function showOverview(code, period, seq) {
  $("trail").hidden = true;
  setStatus("加载中…");
  watchAlerts(code); // first: an alert raised while the list below is asked is heard too
  const [overview, overdue, alerts] = await Promise.all([
    gql(Q.OVERVIEW, { code, period }),
    gql(Q.OVERDUE, { code, period, first: OVERDUE_PER_NODE }),
    gql(Q.ALERTS, { code, minSeverity: MIN_SEVERITY, first: ALERTS_SHOWN }),
    chartsLoaded,
  ]);
  if (seq !== renderSeq) return;
  const j = overview.data?.jurisdiction;
  if (!j) {
    stopAlerts();
    const unavailable = unavailableNodes(overview.errors);
    showBanner({ unavailable, missing: [], stale: [] }, new Map());
    setStatus(describe(overview.errors[0], `没有辖区 ${code}`), true);
    $("overview").hidden = true;
    ready("error", seq, code, period);
    return;
  }
  document.title = `信访工作态势 · ${j.name}`;
  $("title-name").textContent = `· ${j.name}`;
  const children = j.childStats || [];
  const names = new Map([[j.code, j.name], ...children.map((c) => [c.jurisdiction.code, c.jurisdiction.name])]);
  const now = Date.now();
  const overdueChildren = overdue.data?.jurisdiction?.children || [];
  const unavailable = [...new Set([
    ...unavailableNodes(overview.errors), ...unavailableNodes(overdue.errors, overdueChildren),
    ...unavailableNodes(alerts.errors),
  ])];
  showBanner({
    unavailable,
    missing: children.filter((c) => c.missing).map((c) => c.jurisdiction.code),
    stale: children.filter((c) => !c.missing && c.reportedAt && now - Date.parse(c.reportedAt) > STALE_MS)
      .map((c) => ({ code: c.jurisdiction.code, at: c.reportedAt })),
  }, names);
  renderBreadcrumb(j);
  renderCards(j.subtreeStats);
  const hasChildren = children.length > 0;
  for (const el of document.querySelectorAll("[data-needs-children]")) el.hidden = !hasChildren;
  renderChildren(j, children, unavailable);
  renderOverdue(j.code, overdue.data);
  showAlerts(j.code, alerts);
  $("alert-children-caption").textContent = `按下级辖区：${CHILD_TIER[j.tier] || ""}`;
  renderFlowsTable(j.escalationFlows || []);
  renderCategoriesTable(j.topCategories || [], j.subtreeStats?.eventCount || 0);
  $("tree-title").textContent = `下级辖区分布：${CHILD_TIER[j.tier] || ""}`;
  $("overview").hidden = false;
  const options = {
    "chart-flows": flowOptions(j.escalationFlows || []),
    "chart-categories": categoryOptions(j.topCategories || []),
    ...(hasChildren ? childOptions(children) : {}),
  };
  await drawCharts(options);
  // Errors of one node are in the banner; anything else is said in the status line.
  const other = [...overview.errors, ...overdue.errors, ...alerts.errors].find((e) => errorNodes(e, overdueChildren).length === 0);
  const asOf = j.subtreeStats?.asOf ? `，数据截至 ${when(j.subtreeStats.asOf)}` : "";
  setStatus(other ? describe(other, "部分数据未能加载") :
    `${TIER[j.tier] || ""} · ${period.from} 至 ${period.to} 登记的信访事项（含全部下级辖区${asOf}）`, Boolean(other));
  ready("overview", seq, j.code, period);
}

async function showTrail(caseId, seq) {
  setStatus("加载案件轨迹…");
  const [{ data, errors }] = await Promise.all([gql(Q.TRAIL, { caseId }), chartsLoaded]);
  if (seq !== renderSeq) return;
  const steps = data?.escalationTrail;
  if (!steps) {
    setStatus(describe(errors[0], `没有案件 ${caseId}`), true);
    ready("error", seq, caseId);
    return;
  }
  showBanner({ unavailable: unavailableNodes(errors), missing: [], stale: [] }, new Map());
  $("overview").hidden = true;
  $("trail").hidden = false;
  $("trail-id").textContent = caseId;
  const c = data.case;
  const facts = c ? [
    ["承办节点", `${c.owner.name}（${c.owner.code}）`], ["问题属地", c.issueLocality.name],
    ["类别", c.category], ["状态", STATUS[c.status] || c.status], ["登记时间", when(c.registeredAt)],
  ] : [["案件", "承办节点暂未响应"]];
  $("trail-facts").replaceChildren(...facts.flatMap(([k, v]) => {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    return [dt, dd];
  }));
  // In time order (the index gives them so; sorted again, stably, so the page never depends on it).
  const ordered = [...steps].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  $("trail-table").tBodies[0].replaceChildren(...ordered.map((s) => {
    const d = s.deadline;
    const held = d ? (d.held ? "按期" : "超期") : "";
    const tr = row(
      cell(when(s.at)), cell(`${s.node.name}（${s.node.code}）`, "text"), cell(TIER_SHORT[s.node.tier] || s.node.tier, "text"),
      cell(STEPS[s.action] || s.action, "text"), cell(ROLES[s.role] || s.role || "", "text"),
      cell(d ? DEADLINES[d.kind] || d.kind : "", "text"), cell(d ? when(d.due) : ""), cell(d ? when(d.metAt) : ""),
      cell(held, d && !d.held ? "text late" : "text"), cell(s.note || "", "text"), cell(s.case?.id || "", "text"),
    );
    tr.dataset.action = s.action;
    return tr;
  }));
  setStatus(`案件 ${caseId} 的轨迹：${ordered.length} 个环节`);
  ready("trail", seq, caseId);
}

// --- CSV ------------------------------------------------------------------------------------------

function tableCsv(table) {
  const quote = (t) => (/[",\r\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t);
  return [...table.rows].map((r) => [...r.cells].map((c) => quote(c.textContent.trim())).join(",")).join("\r\n");
}

// UTF-8 with a byte-order mark, so Excel opens the Chinese text correctly.
function exportCsv(tableId) {
  const table = $(tableId);
  const blob = new Blob(["\ufeff" + tableCsv(table) + "\r\n"], { type: "text/csv;charset=utf-8" });
  const { code, caseId, period } = readHash();
  const place = caseId || code || tokenJurisdiction() || DEFAULT_PROVINCE;
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `${tableId}-${place}-${period.from}_${period.to}.csv`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

// --- wiring ---------------------------------------------------------------------------------------

function route() {
  const seq = ++renderSeq;
  delete document.documentElement.dataset.ready;
  delete document.documentElement.dataset.place;
  const state = readHash();
  $("period-preset").value = state.preset;
  $("period-from").value = state.period.from;
  $("period-to").value = state.period.to;
  const run = state.caseId
    ? showTrail(state.caseId, seq)
    : showOverview(state.code || tokenJurisdiction() || DEFAULT_PROVINCE, state.period, seq);
  run.catch((e) => { setStatus(e.message || String(e), true); ready("error", seq); });
}

function init() {
  $("period-preset").addEventListener("change", () => {
    const preset = $("period-preset").value;
    if (preset === "custom") return; // the dates are edited, then 查询
    go({ preset });
  });
  $("period").addEventListener("submit", (e) => {
    e.preventDefault();
    const from = $("period-from").value, to = $("period-to").value;
    if (from > to) { setStatus("起始日期晚于截止日期", true); return; }
    go({ preset: "custom", period: { from, to } });
  });
  for (const button of document.querySelectorAll("[data-export]")) {
    button.addEventListener("click", () => exportCsv(button.dataset.export));
  }
  $("trail-close").addEventListener("click", () => {
    if (history.length > 1) history.back();
    else go({ caseId: null });
  });
  window.addEventListener("hashchange", route);
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
  route();
}

// A deferred script runs once the document is parsed: start at once, not at DOMContentLoaded,
// which waits for ECharts too.
init();
