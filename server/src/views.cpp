#include "views.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <memory>
#include <mutex>

#include "http_common.hpp"
#include "page.hpp"
#include "ptag/compiler.hpp"
#include "ptag/decimal.hpp"
#include "ptag/diagnostic.hpp"
#include "ptag/durable.hpp"
#include "ptag/text.hpp"
#include "reports.hpp"

namespace ptag::serve {

namespace {

// What a segment sorts by: a partner field, or any metric (by its name).
enum class SortKey { first, partner, joined, last_activity, tags, metric };

constexpr std::pair<std::string_view, SortKey> kSortKeys[] = {
    {"first", SortKey::first},   {"partner", SortKey::partner}, {"joined", SortKey::joined},
    {"last_activity", SortKey::last_activity}, {"tags", SortKey::tags}};

// The sort names: the fields, then the metrics in the table's order.
std::vector<std::string_view> sort_names() {
  std::vector<std::string_view> out;
  for (const auto& k : kSortKeys) out.push_back(k.first);
  for (std::string_view m : metrics()) out.push_back(m);
  return out;
}

constexpr std::int64_t kMaxPerPage = 500;

struct SegmentQuery {
  std::vector<std::string> has, lacks;
  std::string q;
  std::string sort = "first";
  SortKey key = SortKey::first;
  Metric metric = Metric::revenue;  // when key is metric
  bool descending = false;
  std::int64_t page = 1, per_page = 50;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Every value of a parameter that may repeat, each split on commas.
std::vector<std::string> tag_list(const HttpRequest& req, const std::string& name) {
  std::vector<std::string> out;
  for (const std::string& value : req.params(name)) {
    std::string_view rest = value;
    while (true) {
      std::size_t comma = rest.find(',');
      std::string_view item = trim(rest.substr(0, comma));
      if (!item.empty() && std::find(out.begin(), out.end(), item) == out.end()) out.emplace_back(item);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return out;
}

std::optional<Answer> parse_segment_query(const HttpRequest& req, SegmentQuery& q, bool paged) {
  q.has = tag_list(req, "has");
  q.lacks = tag_list(req, "lacks");
  q.q = std::string(trim(req.param("q")));
  if (req.has_param("sort")) {
    std::string sort = req.param("sort");
    std::string_view name = sort;
    q.descending = !name.empty() && name.front() == '-';
    if (q.descending) name.remove_prefix(1);
    auto at = std::find_if(std::begin(kSortKeys), std::end(kSortKeys), [&](const auto& k) { return k.first == name; });
    auto metric = std::find(metrics().begin(), metrics().end(), name);
    if (at != std::end(kSortKeys)) {
      q.key = at->second;
    } else if (metric != metrics().end()) {
      q.key = SortKey::metric;
      q.metric = static_cast<Metric>(metric - metrics().begin());
    } else {
      std::string keys;
      for (std::string_view k : sort_names()) keys += (keys.empty() ? "" : ", ") + std::string(k);
      return bad_parameter("sort", "sort is one of " + keys + ", with a leading - for descending; not " +
                                       json_quote(sort));
    }
    q.sort = sort;
  }
  if (!paged) return std::nullopt;
  q.page = whole_param(req, "page", 1, 1, std::numeric_limits<std::int64_t>::max());
  q.per_page = whole_param(req, "per_page", 50, 1, kMaxPerPage);
  return std::nullopt;
}

bool has_all(const std::vector<std::string_view>& tags, const std::vector<std::string>& wanted) {
  return std::all_of(wanted.begin(), wanted.end(),
                     [&](const std::string& w) { return std::find(tags.begin(), tags.end(), w) != tags.end(); });
}
bool has_none(const std::vector<std::string_view>& tags, const std::vector<std::string>& unwanted) {
  return std::none_of(unwanted.begin(), unwanted.end(),
                      [&](const std::string& w) { return std::find(tags.begin(), tags.end(), w) != tags.end(); });
}

// The sort value of a partner: millionths, a count, or seconds (every
// partner has joined_at and last_activity from its first event).
std::int64_t sort_value(const Engine& e, std::size_t i, const SegmentQuery& q) {
  switch (q.key) {
    case SortKey::joined: return e.partner_times(i).joined_at;
    case SortKey::last_activity: return e.partner_times(i).last_activity;
    case SortKey::metric: return e.partner_metric(i, q.metric);
    case SortKey::tags: return static_cast<std::int64_t>(e.partner_tags(i).size());
    case SortKey::first:
    case SortKey::partner: break;
  }
  return 0;
}

// The segment's partners (indexes), filtered and sorted; or the 400 of a query
// that does not compile.
std::variant<std::vector<std::size_t>, Answer> select(const Engine& e, const Program& program, const SegmentQuery& q) {
  std::vector<std::size_t> found;
  if (q.q.empty()) {
    found.resize(e.partner_count());
    for (std::size_t i = 0; i < found.size(); ++i) found[i] = i;
  } else {
    SegmentResult segment = compile_segment(program, q.q);
    if (!segment.program) {
      std::string diagnostics = render_json_rendered(segment.diagnostics.all(), segment.sources);
      while (!diagnostics.empty() && diagnostics.back() == '\n') diagnostics.pop_back();
      return Answer{400, R"({"error":"the query does not compile","parameter":"q","diagnostics":)" + diagnostics + "}"};
    }
    found = e.segment(*segment.program);
  }
  if (!q.has.empty() || !q.lacks.empty())
    std::erase_if(found, [&](std::size_t i) {
      std::vector<std::string_view> tags = e.partner_tags(i);
      return !has_all(tags, q.has) || !has_none(tags, q.lacks);
    });
  if (q.key == SortKey::first) {
    if (q.descending) std::reverse(found.begin(), found.end());
    return found;
  }
  // Ties keep first appearance in both directions: stable sorts of ascending indexes.
  if (q.key == SortKey::partner) {
    std::stable_sort(found.begin(), found.end(), [&](std::size_t a, std::size_t b) {
      return q.descending ? e.partner_id(a) > e.partner_id(b) : e.partner_id(a) < e.partner_id(b);
    });
    return found;
  }
  std::vector<std::pair<std::int64_t, std::size_t>> keyed;
  keyed.reserve(found.size());
  for (std::size_t i : found) keyed.emplace_back(sort_value(e, i, q), i);
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    return q.descending ? a.first > b.first : a.first < b.first;
  });
  for (std::size_t k = 0; k < keyed.size(); ++k) found[k] = keyed[k].second;
  return found;
}

std::vector<std::string_view> sorted_tags(const Engine& e, std::size_t i) {
  std::vector<std::string_view> tags = e.partner_tags(i);
  std::sort(tags.begin(), tags.end());
  return tags;
}

std::string time_or_null(Seconds t) { return t ? json_quote(format_time(t)) : std::string("null"); }

void append_row_json(std::string& out, const Engine& e, std::size_t i) {
  out += R"({"partner":)";
  append_json_quoted(out, e.partner_id(i));
  out += R"(,"tags":[)";
  std::vector<std::string_view> tags = sorted_tags(e, i);
  for (std::size_t t = 0; t < tags.size(); ++t) {
    if (t) out += ',';
    append_json_quoted(out, tags[t]);
  }
  Engine::PartnerTimes at = e.partner_times(i);
  out += R"(],"joined_at":)" + time_or_null(at.joined_at) + R"(,"last_activity":)" + time_or_null(at.last_activity) +
         R"(,"revenue":)" + format_decimal(e.partner_metric(i, Metric::revenue)) +
         R"(,"sales":)" + format_decimal(e.partner_metric(i, Metric::sales)) +
         R"(,"signups":)" + format_decimal(e.partner_metric(i, Metric::signups)) + "}";
}

std::string optional_number(const std::optional<std::int64_t>& n) { return n ? std::to_string(*n) : "null"; }

}  // namespace

void add_views(RouteTable& table, Routes& r) {
  table.add({"GET", "/v1/segment", Access::read, false, false, [&r](const HttpRequest& req, HttpResponse& res) {
    SegmentQuery q;
    if (std::optional<Answer> bad = parse_segment_query(req, q, true)) return answer(res, *bad);
    answer(res, r.applier.call([q](DurableEngine& d, const Program& program) -> Answer {
      const Engine& e = d.engine();
      auto selected = select(e, program, q);
      if (auto* bad = std::get_if<Answer>(&selected)) return *bad;
      const auto& found = std::get<std::vector<std::size_t>>(selected);
      auto total = static_cast<std::int64_t>(found.size());
      std::int64_t pages = std::max<std::int64_t>(1, (total + q.per_page - 1) / q.per_page);
      std::string out = R"({"total":)" + std::to_string(total) + R"(,"page":)" + std::to_string(q.page) +
                        R"(,"per_page":)" + std::to_string(q.per_page) + R"(,"pages":)" + std::to_string(pages) +
                        R"(,"sort":)" + json_quote(q.sort) + R"(,"clock":)" +
                        (e.has_clock() ? json_quote(format_time(e.clock())) : std::string("null")) +
                        R"(,"partners":[)";
      // A page past the last is empty (and page * per_page may not fit in 64 bits).
      std::int64_t from = q.page > pages ? total : (q.page - 1) * q.per_page;
      std::int64_t to = std::min(total, from + q.per_page);
      for (std::int64_t k = from; k < to; ++k) {
        if (k > from) out += ',';
        append_row_json(out, e, found[static_cast<std::size_t>(k)]);
      }
      return {200, out + "]}"};
    }));
  }});
  table.add({"GET", "/v1/segment.csv", Access::read, false, false, [&r](const HttpRequest& req, HttpResponse& res) {
    SegmentQuery q;
    if (std::optional<Answer> bad = parse_segment_query(req, q, false)) return answer(res, *bad);
    // The engine's thread only copies the rows out; they are formatted here,
    // so that ingestion waits for the copy (a few ms), not for the CSV.
    // The CSV's columns are a published order (docs/serve.md), not the table's.
    static constexpr Metric kColumns[] = {Metric::revenue, Metric::sales,       Metric::signups,
                                          Metric::clicks,  Metric::commissions, Metric::customers};
    struct Row {
      std::string partner, tags;
      Engine::PartnerTimes at;
      std::array<std::int64_t, std::size(kColumns)> metrics;
    };
    auto rows = std::make_shared<std::vector<Row>>();
    Answer a = r.applier.call([q, rows](DurableEngine& d, const Program& program) -> Answer {
      const Engine& e = d.engine();
      auto selected = select(e, program, q);
      if (auto* bad = std::get_if<Answer>(&selected)) return *bad;
      const auto& found = std::get<std::vector<std::size_t>>(selected);
      rows->reserve(found.size());
      for (std::size_t i : found) {
        Row row{std::string(e.partner_id(i)), {}, e.partner_times(i), {}};
        for (std::string_view t : sorted_tags(e, i)) {
          if (!row.tags.empty()) row.tags += "; ";
          row.tags += t;
        }
        for (std::size_t m = 0; m < std::size(kColumns); ++m) row.metrics[m] = e.partner_metric(i, kColumns[m]);
        rows->push_back(std::move(row));
      }
      return {200, ""};
    });
    if (a.status == 200) {
      std::string out = "partner,tags,joined_at,last_activity,revenue,sales,signups,clicks,commissions,customers\r\n";
      for (const Row& row : *rows) {
        out += csv_text(row.partner) + "," + csv_text(row.tags) + "," +
               (row.at.joined_at ? format_time(row.at.joined_at) : "") + "," +
               (row.at.last_activity ? format_time(row.at.last_activity) : "");
        for (std::int64_t v : row.metrics) out += "," + format_decimal(v);
        out += "\r\n";
      }
      a.body = std::move(out);
    }
    if (a.status != 200) return answer(res, a);
    res.set_header("Content-Disposition", R"(attachment; filename="partners.csv")");
    res.type = "text/csv; charset=utf-8";
    res.body = std::move(a.body);
  }});
  struct SharedTimeline {
    std::mutex lock;
    TagTimeline timeline;
  };
  auto timeline = std::make_shared<SharedTimeline>();
  table.add({"GET", "/v1/tags/history", Access::read, false, false, [&r, timeline](const HttpRequest& req, HttpResponse& res) {
    std::optional<Interval> interval;
    if (std::string name = req.param("interval"); !name.empty() && name != "auto") {
      interval = parse_interval(name);
      if (!interval) return answer(res, bad_parameter("interval", "interval is one of day, week, month, auto"));
    }
    try {
      auto reader = StoreReader::open(r.state);
      std::lock_guard lock(timeline->lock);
      timeline->timeline.update(*reader);
      auto history = timeline->timeline.history(tag_list(req, "tag"), interval, 1000);
      if (auto* why = std::get_if<std::string>(&history)) return answer(res, bad_parameter("interval", *why));
      const TagHistory& h = std::get<TagHistory>(history);
      std::string out = R"({"interval":)" + json_quote(interval_name(h.interval)) + R"(,"times":[)";
      for (std::size_t i = 0; i < h.times.size(); ++i) out += (i ? "," : "") + json_quote(format_time(h.times[i]));
      out += R"(],"tags":{)";
      for (std::size_t t = 0; t < h.tags.size(); ++t) {
        out += (t ? "," : "") + json_quote(h.tags[t].first) + ":[";
        for (std::size_t i = 0; i < h.tags[t].second.size(); ++i)
          out += (i ? "," : "") + std::to_string(h.tags[t].second[i]);
        out += "]";
      }
      answer(res, {200, out + "}}"});
    } catch (const StoreError& e) {
      answer(res, error(503, e.what()));
    }
  }});
  table.add({"GET", "/v1/flows", Access::read, false, false, [&r](const HttpRequest& req, HttpResponse& res) {
    std::string from = std::string(trim(req.param("from"))), to = std::string(trim(req.param("to")));
    if (from.empty()) return answer(res, bad_parameter("from", "from (the first tag) is missing"));
    if (to.empty()) return answer(res, bad_parameter("to", "to (the second tag) is missing"));
    if (from == to) return answer(res, bad_parameter("to", "from and to are the same tag"));
    try {
      Flow f = flow(*StoreReader::open(r.state), from, to);
      answer(res, {200, R"({"from":)" + json_quote(from) + R"(,"to":)" + json_quote(to) + R"(,"from_partners":)" +
                            std::to_string(f.from_partners) + R"(,"moved":)" + std::to_string(f.moved) +
                            R"(,"median_seconds":)" + optional_number(f.median) + R"(,"p25_seconds":)" +
                            optional_number(f.p25) + R"(,"p75_seconds":)" + optional_number(f.p75) +
                            R"(,"min_seconds":)" + optional_number(f.min) + R"(,"max_seconds":)" +
                            optional_number(f.max) + "}"});
    } catch (const StoreError& e) {
      answer(res, error(503, e.what()));
    }
  }});
  table.add({"GET", "/v1/records", Access::read, false, false, [&r](const HttpRequest& req, HttpResponse& res) {
    std::optional<std::int64_t> after;
    if (req.has_param("after")) after = whole_param(req, "after", 0, 0, std::numeric_limits<std::int64_t>::max());
    std::int64_t limit = limit_param(req, 100, 1000);
    try {
      auto reader = StoreReader::open(r.state);
      std::int64_t last = reader->last_seq();
      std::vector<NumberedRecord> records = after ? reader->records_after(*after, limit) : reader->last_records(limit);
      std::string out = R"({"records":[)";
      for (std::size_t i = 0; i < records.size(); ++i) {
        std::string record = record_json(records[i].record);
        out += (i ? R"(,{"seq":)" : R"({"seq":)") + std::to_string(records[i].seq) + "," + record.substr(1);
      }
      // Poll with after=next: the last record given, else where this call started.
      if (!records.empty()) last = std::max(last, records.back().seq);  // a commit between the two reads
      std::int64_t next = !records.empty() ? std::max(records.back().seq, after ? 0 : last) : after.value_or(last);
      answer(res, {200, out + R"(],"last":)" + std::to_string(last) + R"(,"next":)" + std::to_string(next) + "}"});
    } catch (const StoreError& e) {
      answer(res, error(503, e.what()));
    }
  }});
  add_page(table);
}

}  // namespace ptag::serve
