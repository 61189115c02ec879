// 信访工作态势: the leaders' dashboard. Only the public GraphQL API (POST /graphql), no build step.
"use strict";

const DEFAULT_PROVINCE = "53";

const FIGURES = `fragment Figures on Stats {
  eventCount personCount timelyAcceptanceRate onTimeReplyRate satisfactionRate
  backlog backlogResolutionRate overdue skipLevelVisits repeatPetitions firstPetitionReplyDays
}`;

const OVERVIEW = `query DashboardOverview($code: ID!, $period: Period) {
  jurisdiction(code: $code) {
    code name tier
    parent { code name parent { code name parent { code name } } }
    stats(period: $period) { ...Figures }
    children { code name tier stats(period: $period) { ...Figures } }
    cases(filter: { overdue: true, period: $period }, first: 50) {
      totalCount
      edges { node { id category registeredAt issueLocality { code name } deadlines { kind due overdue } } }
    }
  }
}
${FIGURES}`;

const TRAIL = `query DashboardTrail($id: ID!) {
  case(id: $id) {
    id status category registeredAt final skipLevel
    owner { code name }
    issueLocality { code name }
    deadlines { kind due metAt overdue metOnTime }
    events { at action actor reason }
    trail { at action node { code name } remoteId }
  }
}`;

const TIER = { PROVINCE: "省", CITY: "市", COUNTY: "县", TOWNSHIP: "乡镇" };
const CHILD_TIER = { PROVINCE: "市（州）", CITY: "县（市、区）", COUNTY: "乡镇（街道）", TOWNSHIP: "" };
const ACTIONS = {
  REGISTER: "登记", TRANSFER: "转送", ASSIGN: "交办", REDIRECT: "引导至法定途径",
  NOT_ACCEPT: "不予受理", RAISE_OBJECTION: "提出异议", ACCEPT: "受理",
  RECORD_COMPLETION_REPORT: "办结报告", START_MEDIATION: "开始调解", SETTLE_BY_MEDIATION: "调解成功",
  END_MEDIATION: "调解终止", BEGIN_HANDLING: "开始办理", EXTEND_HANDLING: "延期办理", REPLY: "答复",
  RECORD_DELIVERY: "送达", RATE_SATISFACTION: "满意度评价", REQUEST_REVIEW: "申请复查",
  RECORD_REVIEW_DECISION: "复查决定", REQUEST_FINAL_REVIEW: "申请复核", RECORD_HEARING: "听证",
  RECORD_FINAL_REVIEW_DECISION: "复核决定", CLOSE: "办结",
  TRANSFERRED_TO: "转送至", TRANSFERRED_FROM: "转自", ASSIGNED_TO: "交办至", ASSIGNED_BY: "交办自",
  COMPLETION_REPORTED_TO: "报告办结至", REVIEWED_AT: "复查机关", FINAL_REVIEWED_AT: "复核机关",
  SUPERVISED_BY: "督办机关",
};
const DEADLINES = {
  ACCEPTANCE: "受理期限", OBJECTION: "异议期限", HANDLING: "办理期限", ASSIGNMENT: "交办期限",
  REVIEW_REQUEST: "复查申请期限", REVIEW_DECISION: "复查决定期限",
  FINAL_REVIEW_REQUEST: "复核申请期限", FINAL_REVIEW_DECISION: "复核决定期限",
  FAST_TRACK_MEETING: "速办见面", FAST_TRACK_FACTS: "速办查清事实", FAST_TRACK_REPLY: "速办答复",
};

const charts = {};

function $(id) { return document.getElementById(id); }

// Sign-in: open the page once as /dashboard?token=<JWT> (e.g. from `xinfang token`); the token
// is kept in sessionStorage (this tab only) and taken out of the address bar.
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

// --- period -------------------------------------------------------------------------------

function isoDay(d) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function presetPeriod(preset, today = new Date()) {
  const y = today.getFullYear(), m = today.getMonth();
  switch (preset) {
    case "month": return { from: isoDay(new Date(y, m, 1)), to: isoDay(today) };
    case "quarter": return { from: isoDay(new Date(y, m - (m % 3), 1)), to: isoDay(today) };
    case "last12": return { from: isoDay(new Date(y - 1, m, today.getDate() + 1)), to: isoDay(today) };
    default: return { from: isoDay(new Date(y, 0, 1)), to: isoDay(today) };
  }
}

function currentPeriod() {
  return { from: $("period-from").value, to: $("period-to").value };
}

// --- formatting -------------------------------------------------------------------------------

function pct(x) { return x === null || x === undefined ? "—" : `${(x * 100).toFixed(2)}%`; }
function num(x) { return x === null || x === undefined ? "—" : Number(x).toLocaleString("zh-CN"); }
function days(x) { return x === null || x === undefined ? "—" : x.toFixed(1); }
function when(iso) { return iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false }) : "—"; }

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

const ERRORS = {
  SUBGRAPH_UNAVAILABLE: "辖区服务暂未响应，请稍后再试",
  UNAUTHENTICATED: "请先登录（令牌无效或已过期）",
  FORBIDDEN: "无权查看该辖区",
  NOT_FOUND: "未找到",
  BAD_USER_INPUT: "查询条件有误",
};

function describe(error, fallback) {
  if (!error) return fallback;
  const code = error.extensions?.code;
  const known = ERRORS[code];
  return known ? `${known}（${code}）` : error.message || fallback;
}

// --- missing jurisdictions ----------------------------------------------------------------------

function missingFrom(errors) {
  const missing = new Map();
  for (const e of errors) {
    const ext = e.extensions || {};
    if (ext.code !== "SUBGRAPH_UNAVAILABLE") continue;
    for (const code of ext.nodes || []) missing.set(code, code);
    if (!ext.nodes && ext.serviceName) missing.set(ext.serviceName, ext.serviceName);
  }
  return [...missing.keys()];
}

function showMissing(codes, names) {
  const box = $("missing");
  if (!codes.length) { box.hidden = true; box.textContent = ""; return; }
  const listed = codes.map((c) => (names.get(c) ? `${names.get(c)}（${c}）` : c));
  box.textContent = `以下辖区暂未响应，数据不完整：${listed.join("、")}`;
  box.hidden = false;
}

// --- overview -----------------------------------------------------------------------------------

function renderBreadcrumb(j) {
  const chain = [];
  for (let p = j.parent; p; p = p.parent) chain.unshift(p);
  const nav = $("breadcrumb");
  nav.replaceChildren();
  [...chain, j].forEach((node, i, all) => {
    if (i) { const s = document.createElement("span"); s.className = "sep"; s.textContent = "›"; nav.append(s); }
    if (i === all.length - 1) { const b = document.createElement("strong"); b.textContent = node.name; nav.append(b); }
    else { const a = document.createElement("a"); a.href = `#code=${node.code}`; a.textContent = node.name; nav.append(a); }
  });
}

function renderCards(stats) {
  const items = [
    ["件次", num(stats?.eventCount)], ["人次", num(stats?.personCount)],
    ["及时受理率", pct(stats?.timelyAcceptanceRate)], ["按期答复率", pct(stats?.onTimeReplyRate)],
    ["群众满意率", pct(stats?.satisfactionRate)], ["积案", num(stats?.backlog)],
    ["积案化解率", pct(stats?.backlogResolutionRate)], ["超期", num(stats?.overdue)],
    ["越级访", num(stats?.skipLevelVisits)], ["重复访", num(stats?.repeatPetitions)],
    ["初信初访用时（天）", days(stats?.firstPetitionReplyDays)],
  ];
  $("cards").replaceChildren(...items.map(([label, value]) => {
    const div = document.createElement("div");
    div.className = "card";
    div.innerHTML = `<div class="label"></div><div class="value"></div>`;
    div.querySelector(".label").textContent = label;
    div.querySelector(".value").textContent = value;
    return div;
  }));
}

function renderChildren(j, missing) {
  $("children-title").textContent = `下级辖区：${CHILD_TIER[j.tier] || ""}（${j.children.length}）`;
  $("children-section").hidden = j.children.length === 0;
  const rows = j.children.map((c) => {
    const tr = document.createElement("tr");
    const s = c.stats;
    if (!s || missing.includes(c.code)) tr.className = "unavailable";
    const name = document.createElement("td");
    const a = document.createElement("a");
    a.href = `#code=${c.code}`;
    a.textContent = c.name;
    name.append(a);
    tr.append(
      name, cell(c.code, "text"),
      cell(num(s?.eventCount)), cell(num(s?.personCount)), cell(pct(s?.timelyAcceptanceRate)),
      cell(pct(s?.onTimeReplyRate)), cell(pct(s?.satisfactionRate)), cell(num(s?.backlog)),
      cell(pct(s?.backlogResolutionRate)), cell(num(s?.overdue)), cell(num(s?.skipLevelVisits)),
      cell(num(s?.repeatPetitions)), cell(days(s?.firstPetitionReplyDays)),
    );
    return tr;
  });
  $("children-table").tBodies[0].replaceChildren(...rows);
}

function renderOverdue(j) {
  const edges = j.cases?.edges || [];
  const rows = edges.map(({ node }) => {
    const tr = document.createElement("tr");
    const id = document.createElement("td");
    const a = document.createElement("a");
    a.href = `#case=${encodeURIComponent(node.id)}`;
    a.textContent = node.id;
    id.append(a);
    const late = node.deadlines.filter((d) => d.overdue).map((d) => DEADLINES[d.kind] || d.kind);
    tr.append(id, cell(node.category, "text"), cell(when(node.registeredAt)),
      cell(node.issueLocality?.name || "—", "text"), cell(late.join("、"), "text late"));
    return tr;
  });
  $("overdue-table").tBodies[0].replaceChildren(...rows);
}

function chart(id) {
  if (!window.echarts) return null;
  if (!charts[id]) charts[id] = echarts.init($(id), null, { renderer: "canvas" });
  return charts[id];
}

function renderCharts(j) {
  const names = j.children.map((c) => c.name);
  const rate = (key) => j.children.map((c) => (c.stats && c.stats[key] !== null ? +(c.stats[key] * 100).toFixed(2) : null));
  const rates = chart("chart-rates");
  if (rates) {
    rates.setOption({
      tooltip: { trigger: "axis", valueFormatter: (v) => (v === null ? "—" : `${v}%`) },
      legend: { data: ["及时受理率", "按期答复率", "群众满意率"] },
      grid: { left: 40, right: 10, bottom: 70 },
      xAxis: { type: "category", data: names, axisLabel: { rotate: 45, interval: 0 } },
      yAxis: { type: "value", min: (v) => Math.max(0, Math.floor(v.min - 2)), max: 100 },
      series: [
        { name: "及时受理率", type: "bar", data: rate("timelyAcceptanceRate") },
        { name: "按期答复率", type: "bar", data: rate("onTimeReplyRate") },
        { name: "群众满意率", type: "bar", data: rate("satisfactionRate") },
      ],
    }, true);
  }
  const backlog = chart("chart-backlog");
  if (backlog) {
    backlog.setOption({
      tooltip: { trigger: "axis" },
      legend: { data: ["积案", "超期"] },
      grid: { left: 40, right: 10, bottom: 70 },
      xAxis: { type: "category", data: names, axisLabel: { rotate: 45, interval: 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: "积案", type: "bar", data: j.children.map((c) => c.stats?.backlog ?? null) },
        { name: "超期", type: "bar", data: j.children.map((c) => c.stats?.overdue ?? null) },
      ],
    }, true);
  }
}

async function showOverview(code) {
  $("trail").hidden = true;
  setStatus("加载中…");
  const { data, errors } = await gql(OVERVIEW, { code, period: currentPeriod() });
  const j = data?.jurisdiction;
  if (!j) {
    setStatus(describe(errors[0], `没有辖区 ${code}`), true);
    $("overview").hidden = true;
    return;
  }
  document.title = `信访工作态势 · ${j.name}`;
  $("title-name").textContent = `· ${j.name}`;
  const missing = missingFrom(errors);
  showMissing(missing, new Map(j.children.map((c) => [c.code, c.name]).concat([[j.code, j.name]])));
  renderBreadcrumb(j);
  renderCards(j.stats);
  renderChildren(j, missing);
  renderOverdue(j);
  $("overview").hidden = false;
  renderCharts(j);
  const period = currentPeriod();
  setStatus(`${TIER[j.tier] || ""}级 · ${period.from} 至 ${period.to} 登记的信访事项（本级数据）`);
}

// --- trail ----------------------------------------------------------------------------------------

async function showTrail(id) {
  setStatus("加载案件轨迹…");
  const { data, errors } = await gql(TRAIL, { id });
  const c = data?.case;
  if (!c) { setStatus(describe(errors[0], `没有案件 ${id}`), true); return; }
  $("overview").hidden = true;
  $("trail").hidden = false;
  $("trail-id").textContent = c.id;
  const facts = [
    ["承办节点", `${c.owner.name}（${c.owner.code}）`], ["问题属地", c.issueLocality.name],
    ["类别", c.category], ["状态", c.status], ["登记时间", when(c.registeredAt)],
    ["越级访", c.skipLevel ? "是" : "否"], ["三级终结", c.final ? "是" : "否"],
  ];
  $("trail-facts").replaceChildren(...facts.flatMap(([k, v]) => {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    return [dt, dd];
  }));
  const steps = [
    ...c.events.map((e) => ({ at: e.at, node: `${c.owner.name}`, what: ACTIONS[e.action] || e.action, who: e.actor, note: e.reason || "" })),
    ...c.trail.map((t) => ({ at: t.at, node: `${t.node.name}（${t.node.code}）`, what: ACTIONS[t.action] || t.action, who: "", note: t.remoteId || "" })),
    ...c.deadlines.map((d) => ({ at: d.due, node: c.owner.name, what: DEADLINES[d.kind] || d.kind, who: "",
      note: d.metAt ? (d.metOnTime ? "按期" : "逾期完成") : (d.overdue ? "已超期" : "未到期"), late: d.overdue || d.metOnTime === false })),
  ].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  $("trail-table").tBodies[0].replaceChildren(...steps.map((s) => {
    const tr = document.createElement("tr");
    tr.append(cell(when(s.at)), cell(s.node, "text"), cell(s.what, "text"), cell(s.who, "text"), cell(s.note, s.late ? "text late" : "text"));
    return tr;
  }));
  setStatus(`案件 ${c.id} 的轨迹`);
}

// --- CSV ----------------------------------------------------------------------------------------

function tableCsv(table) {
  const quote = (t) => (/[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t);
  return [...table.rows].map((r) => [...r.cells].map((c) => quote(c.textContent.trim())).join(",")).join("\r\n");
}

function exportCsv(tableId) {
  const table = $(tableId);
  const blob = new Blob(["\ufeff" + tableCsv(table) + "\r\n"], { type: "text/csv;charset=utf-8" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `${tableId}-${isoDay(new Date())}.csv`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

// --- wiring ---------------------------------------------------------------------------------------

function setStatus(text, error = false) {
  const s = $("status");
  s.textContent = text;
  s.classList.toggle("error", error);
}

function route() {
  const hash = new URLSearchParams(location.hash.slice(1));
  const run = hash.get("case") ? showTrail(hash.get("case")) : showOverview(hash.get("code") || tokenJurisdiction() || DEFAULT_PROVINCE);
  run.catch((e) => setStatus(e.message || String(e), true));
}

function init() {
  const setPreset = () => {
    const preset = $("period-preset").value;
    if (preset === "custom") return;
    const p = presetPeriod(preset);
    $("period-from").value = p.from;
    $("period-to").value = p.to;
  };
  setPreset();
  $("period-preset").addEventListener("change", () => { setPreset(); route(); });
  $("period").addEventListener("submit", (e) => { e.preventDefault(); $("period-preset").value = "custom"; route(); });
  for (const button of document.querySelectorAll("[data-export]")) {
    button.addEventListener("click", () => exportCsv(button.dataset.export));
  }
  $("trail-close").addEventListener("click", () => history.back());
  window.addEventListener("hashchange", route);
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
  route();
}

document.addEventListener("DOMContentLoaded", init);
