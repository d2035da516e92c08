#include "imapd/proto/sort.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>

#include "common/mime/decode.hpp"
#include "common/text/ascii.hpp"
#include "imapd/proto/command.hpp"
#include "imapd/proto/search.hpp"

namespace mailstead::imap {
namespace {

bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && text::iequals_ascii(s.substr(0, prefix.size()), prefix);
}

bool ends_with_ci(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && text::iequals_ascii(s.substr(s.size() - suffix.size()), suffix);
}

// subj-blob = "[" *BLOBCHAR "]" *WSP, at `pos`: where it ends, or npos.
std::size_t blob_end(std::string_view s, std::size_t pos) {
  if (pos >= s.size() || s[pos] != '[') return std::string_view::npos;
  auto close = s.find_first_of("[]", pos + 1);
  if (close == std::string_view::npos || s[close] != ']') return std::string_view::npos;
  ++close;
  while (close < s.size() && is_wsp(s[close])) ++close;
  return close;
}

// subj-leader's refwd form, *subj-blob subj-refwd, at the start: where it ends, or npos.
// subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
std::size_t refwd_end(std::string_view s) {
  std::size_t pos = 0;
  for (auto end = blob_end(s, pos); end != std::string_view::npos; end = blob_end(s, pos)) pos = end;
  auto rest = s.substr(pos);
  std::size_t word = starts_with_ci(rest, "re")    ? 2
                     : starts_with_ci(rest, "fwd") ? 3
                     : starts_with_ci(rest, "fw")  ? 2
                                                   : 0;
  if (word == 0) return std::string_view::npos;
  pos += word;
  while (pos < s.size() && is_wsp(s[pos])) ++pos;
  if (auto end = blob_end(s, pos); end != std::string_view::npos) pos = end;
  if (pos >= s.size() || s[pos] != ':') return std::string_view::npos;
  return pos + 1;
}

// i;ascii-casemap (RFC 4790 §9.2) folds to upper case, which orders "_" before letters.
std::string ascii_casemap(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = text::ascii_upper(c);
  return out;
}

const mime::Address* first_address(const std::vector<mime::Address>& list) {
  for (const auto& a : list)
    if (!a.group_start() && !a.group_end()) return &a;
  return nullptr;
}

void keep_first_address(std::vector<mime::Address>& list) {
  const auto* first = first_address(list);
  if (first == nullptr) {
    list.clear();
    return;
  }
  auto kept = *first;
  list.assign(1, std::move(kept));
}

void cap(std::optional<std::string>& text, std::size_t max) {
  if (text && text->size() > max) text->resize(max);
}

std::int64_t zone_offset(std::string_view zone) {
  if (zone.size() == 5 && (zone[0] == '+' || zone[0] == '-') &&
      std::all_of(zone.begin() + 1, zone.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int hours = (zone[1] - '0') * 10 + (zone[2] - '0');
    int minutes = (zone[3] - '0') * 10 + (zone[4] - '0');
    return (zone[0] == '-' ? -1 : 1) * (std::int64_t{hours} * 3600 + std::int64_t{minutes} * 60);
  }
  // RFC 5322 §4.3: the obsolete North American zones; the military letters and anything else
  // mean no information (-0000).
  static const std::pair<std::string_view, int> kZones[] = {{"EST", -5}, {"EDT", -4}, {"CST", -6}, {"CDT", -5},
                                                            {"MST", -7}, {"MDT", -6}, {"PST", -8}, {"PDT", -7}};
  for (auto [name, hours] : kZones)
    if (text::iequals_ascii(zone, name)) return std::int64_t{hours} * 3600;
  return 0;
}

// The sent date RFC 5256 §3 sorts by: the Date field, or the internal date without one.
std::int64_t sent_or_internal(const SortMessage& m) {
  if (m.date)
    if (auto t = parse_sent_time(*m.date)) return *t;
  return m.internal_date;
}

}  // namespace

std::string base_subject(std::string_view subject, bool* reply_or_forward) {
  // (1) Encoded words decoded; tabs and line breaks become spaces; runs of spaces one space.
  std::string decoded = mime::decode_header_value(subject);
  std::string s;
  s.reserve(decoded.size());
  for (char c : decoded) {
    bool space = c == ' ' || c == '\t' || c == '\r' || c == '\n';
    if (!space)
      s += c;
    else if (s.empty() || s.back() != ' ')
      s += ' ';
  }
  bool marked = false;
  for (;;) {
    // (2) Trailers: "(fwd)" and white space, from the end.
    for (;;) {
      if (!s.empty() && s.back() == ' ') {
        s.pop_back();
      } else if (ends_with_ci(s, "(fwd)")) {
        s.resize(s.size() - 5);
        marked = true;
      } else {
        break;
      }
    }
    // (3)-(5) Leaders ("Re:", "[list] Fwd:", white space), and a leading blob when something
    // is left after it.
    for (;;) {
      if (!s.empty() && s.front() == ' ') {
        s.erase(0, 1);
        continue;
      }
      if (auto end = refwd_end(s); end != std::string_view::npos) {
        s.erase(0, end);
        marked = true;
        continue;
      }
      if (auto end = blob_end(s, 0); end != std::string_view::npos && end < s.size()) {
        s.erase(0, end);
        continue;
      }
      break;
    }
    // (6) "[fwd: subject]" unwrapped, and the whole again.
    if (starts_with_ci(s, "[fwd:") && !s.empty() && s.back() == ']') {
      s = s.substr(5, s.size() - 6);
      marked = true;
      continue;
    }
    break;
  }
  if (reply_or_forward) *reply_or_forward = marked;
  return s;
}

std::optional<std::int64_t> parse_sent_time(std::string_view value) {
  // [day-of-week ","] day month year hour ":" minute [":" second] [zone], comments ignored.
  if (auto comment = value.find('('); comment != std::string_view::npos) value = value.substr(0, comment);
  if (auto comma = value.find(','); comma != std::string_view::npos && comma < 12) value.remove_prefix(comma + 1);
  std::vector<std::string_view> tokens;
  for (std::size_t pos = 0; pos < value.size() && tokens.size() < 6;) {
    while (pos < value.size() && (is_wsp(value[pos]) || value[pos] == '\r' || value[pos] == '\n')) ++pos;
    auto end = pos;
    while (end < value.size() && !is_wsp(value[end]) && value[end] != '\r' && value[end] != '\n') ++end;
    if (end > pos) tokens.push_back(value.substr(pos, end - pos));
    pos = end;
  }
  if (tokens.size() < 4) return std::nullopt;
  std::string year(tokens[2]);
  if (year.empty() || year.size() > 4 ||
      !std::all_of(year.begin(), year.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  if (year.size() <= 3) {  // RFC 5322 §4.3: 2 digits from 1950, 3 digits from 1900
    int y = std::stoi(year);
    year = std::to_string(year.size() == 2 && y < 50 ? 2000 + y : 1900 + y);
  }
  auto day = parse_search_date(fmt::format("{}-{}-{}", tokens[0], tokens[1].substr(0, 3), year));
  if (!day) return std::nullopt;
  auto time = tokens[3];
  int parts[3] = {0, 0, 0};
  int n = 0;
  for (std::size_t pos = 0; pos <= time.size() && n < 3;) {
    auto colon = std::min(time.find(':', pos), time.size());
    auto field = time.substr(pos, colon - pos);
    if (field.empty() || field.size() > 2 ||
        !std::all_of(field.begin(), field.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
    parts[n++] = std::stoi(std::string(field));
    pos = colon + 1;
  }
  if (n < 2 || parts[0] > 23 || parts[1] > 59 || parts[2] > 60) return std::nullopt;
  std::int64_t offset = tokens.size() > 4 ? zone_offset(tokens[4]) : 0;
  return *day * 86400 + std::int64_t{parts[0]} * 3600 + std::int64_t{parts[1]} * 60 + parts[2] - offset;
}

void trim_for_sorting(SortMessage& message) {
  keep_first_address(message.from);
  keep_first_address(message.to);
  keep_first_address(message.cc);
  for (auto* text : {&message.subject, &message.date, &message.message_id, &message.in_reply_to})
    cap(*text, kMaxSortText);
  auto& references = message.references;
  if (references && references->size() > 4 * kMaxSortText) {
    // The last references, from a "<" on: the parent is the last of them.
    auto from = references->find('<', references->size() - 4 * kMaxSortText);
    references->erase(0, from == std::string::npos ? references->size() : from);
  }
}

SortKeys sort_keys(const SortMessage& m, const std::vector<SortCriterion>& criteria) {
  using Key = SortCriterion::Key;
  SortKeys keys;
  keys.seq = m.seq;
  for (const auto& c : criteria) {
    SortKeys::Value v;
    auto mailbox = [&v](const std::vector<mime::Address>& list) {
      if (const auto* a = first_address(list)) v.text = ascii_casemap(a->mailbox);
    };
    auto display = [&v](const std::vector<mime::Address>& list) {
      const auto* a = first_address(list);
      if (!a) return;
      auto name = mime::decode_header_value(a->name);
      v.text = fold_case(name.empty() ? a->mailbox + "@" + a->host : name);
    };
    switch (c.key) {
      case Key::arrival:
        v.number = m.internal_date;
        break;
      case Key::date:
        v.number = sent_or_internal(m);
        break;
      case Key::size:
        v.number = static_cast<std::int64_t>(m.size);
        break;
      case Key::subject:
        v.text = ascii_casemap(base_subject(m.subject.value_or("")));
        break;
      case Key::from:
        mailbox(m.from);
        break;
      case Key::to:
        mailbox(m.to);
        break;
      case Key::cc:
        mailbox(m.cc);
        break;
      case Key::display_from:
        display(m.from);
        break;
      case Key::display_to:
        display(m.to);
        break;
    }
    keys.values.push_back(std::move(v));
  }
  return keys;
}

bool sorts_before(const SortKeys& a, const SortKeys& b, const std::vector<SortCriterion>& criteria) {
  for (std::size_t k = 0; k < criteria.size(); ++k) {
    const auto& x = a.values[k];
    const auto& y = b.values[k];
    int cmp = x.number < y.number ? -1 : x.number > y.number ? 1 : x.text.compare(y.text);
    if (cmp != 0) return criteria[k].reverse ? cmp > 0 : cmp < 0;
  }
  return a.seq < b.seq;
}

std::vector<std::size_t> sort_order(const std::vector<SortMessage>& messages,
                                    const std::vector<SortCriterion>& criteria) {
  // Each message's keys once, not once per comparison.
  std::vector<SortKeys> keys;
  keys.reserve(messages.size());
  for (const auto& m : messages) keys.push_back(sort_keys(m, criteria));
  std::vector<std::size_t> order(messages.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return sorts_before(keys[a], keys[b], criteria); });
  return order;
}

namespace {

// Bounds on what strangers' headers can make threading cost. Only the last references of a
// message are followed (the last is its parent; earlier ones only place ancestors that are
// not here); the loop check walks up at most kMaxLoopWalk containers (past that, the link is
// not made: no loop can form); and a thread deeper than kMaxThreadDepth is cut there, its
// deeper part a thread of its own, so the recursion down a thread stays shallow.
constexpr std::size_t kMaxReferences = 16;
constexpr std::size_t kMaxLoopWalk = 1000;
constexpr std::size_t kMaxThreadDepth = 200;

// Message-IDs of a References or In-Reply-To value: each "<...>" in turn.
std::vector<std::string> message_ids(std::string_view value) {
  auto ids = mime::message_ids(value);
  return {ids.begin(), ids.end()};
}

// RFC 5256 §4, REFERENCES: JWZ's algorithm as the RFC writes it, steps numbered as there.
class ReferenceThreader {
 public:
  explicit ReferenceThreader(const std::vector<SortMessage>& messages) : messages_(messages) {}

  std::vector<ThreadNode> run() {
    for (std::size_t i = 0; i < messages_.size(); ++i) link(i);  // (1)
    std::vector<std::size_t> roots;                              // (2)
    for (std::size_t c = 0; c < containers_.size(); ++c)
      if (!containers_[c].parent) roots.push_back(c);
    ids_.clear();  // (3)
    cut_deep(roots);
    roots = prune(roots, true);       // (4)
    sort_level(roots, false);         // (5)
    roots = group_by_subject(roots);  // (6)
    sort_level(roots, true);          // (7)
    std::vector<ThreadNode> out;
    for (auto r : roots) out.push_back(node(r));
    return out;
  }

 private:
  struct Container {
    std::optional<std::size_t> message;
    std::optional<std::size_t> parent;
    std::vector<std::size_t> children;
  };

  std::size_t container_for(const std::string& id) {
    auto [at, added] = ids_.try_emplace(id, containers_.size());
    if (added) containers_.emplace_back();
    return at->second;
  }

  std::size_t fresh() {
    containers_.emplace_back();
    return containers_.size() - 1;
  }

  // Whether `ancestor` is `of` or above it: making `of` its parent would close a loop. A walk
  // longer than kMaxLoopWalk answers yes (the link is then not made).
  bool is_ancestor(std::size_t ancestor, std::size_t of) const {
    std::size_t steps = 0;
    for (std::optional<std::size_t> c = of; c; c = containers_[*c].parent)
      if (*c == ancestor || ++steps > kMaxLoopWalk) return true;
    return false;
  }

  // Cuts every thread at kMaxThreadDepth: what hangs below becomes threads of their own.
  void cut_deep(std::vector<std::size_t>& roots) {
    std::vector<std::pair<std::size_t, std::size_t>> pending;  // container, depth
    for (auto r : roots) pending.emplace_back(r, 0);
    while (!pending.empty()) {
      auto [c, depth] = pending.back();
      pending.pop_back();
      auto children = containers_[c].children;
      if (depth + 1 >= kMaxThreadDepth) {
        for (auto child : children) {
          containers_[child].parent.reset();
          roots.push_back(child);
          pending.emplace_back(child, 0);
        }
        containers_[c].children.clear();
        continue;
      }
      for (auto child : children) pending.emplace_back(child, depth + 1);
    }
  }

  void unlink(std::size_t child) {
    auto& parent = containers_[child].parent;
    if (!parent) return;
    auto& siblings = containers_[*parent].children;
    siblings.erase(std::remove(siblings.begin(), siblings.end(), child), siblings.end());
    parent.reset();
  }

  void adopt(std::size_t parent, std::size_t child) {
    unlink(child);
    containers_[child].parent = parent;
    containers_[parent].children.push_back(child);
  }

  void link(std::size_t index) {
    const auto& m = messages_[index];
    auto references = message_ids(m.references.value_or(""));
    if (references.size() > kMaxReferences)
      references.erase(references.begin(), references.end() - static_cast<std::ptrdiff_t>(kMaxReferences));
    if (references.empty()) {
      auto replied = message_ids(m.in_reply_to.value_or(""));
      if (!replied.empty()) references.push_back(replied.front());
    }
    // (A) Each reference the parent of the next, unless already linked or a loop would form.
    std::optional<std::size_t> previous;
    for (const auto& id : references) {
      auto c = container_for(id);
      if (previous && *previous != c && !containers_[c].parent && !is_ancestor(c, *previous)) adopt(*previous, c);
      previous = c;
    }
    // (B) The message's own container: a duplicate or missing Message-ID gets one of its own.
    auto own_ids = message_ids(m.message_id.value_or(""));
    std::size_t self = 0;
    if (!own_ids.empty() && (!ids_.count(own_ids.front()) || !containers_[ids_[own_ids.front()]].message))
      self = container_for(own_ids.front());
    else
      self = fresh();
    containers_[self].message = index;
    // Its parent is the last reference: a presumed parent from other messages' References gives way.
    unlink(self);
    if (previous && *previous != self && !is_ancestor(self, *previous)) adopt(*previous, self);
  }

  // (4) Empty placeholders go; a placeholder's children take its place, except at the root
  // where a placeholder with several children stays to hold them together.
  std::vector<std::size_t> prune(const std::vector<std::size_t>& level, bool root) {
    std::vector<std::size_t> out;
    for (auto c : level) {
      auto kept = prune(containers_[c].children, false);
      containers_[c].children = kept;
      for (auto child : kept) containers_[child].parent = c;
      if (containers_[c].message) {
        out.push_back(c);
        continue;
      }
      if (kept.empty()) continue;
      if (root && kept.size() > 1) {
        out.push_back(c);
        continue;
      }
      for (auto child : kept) {
        containers_[child].parent = root ? std::nullopt : containers_[c].parent;
        out.push_back(child);
      }
      containers_[c].children.clear();
    }
    return out;
  }

  // The message that speaks for a container: its own, or (a placeholder) its first child's.
  std::optional<std::size_t> representative(std::size_t c) const {
    while (!containers_[c].message) {
      if (containers_[c].children.empty()) return std::nullopt;
      c = containers_[c].children.front();
    }
    return containers_[c].message;
  }

  // Sorted by sent date, then sequence number; placeholders by their first child, so their
  // children are sorted first. `deep`: every level below too (7); else only what (5) needs.
  void sort_level(std::vector<std::size_t>& level, bool deep) {
    for (auto c : level)
      if (deep || !containers_[c].message) sort_level(containers_[c].children, deep);
    auto key = [this](std::size_t c) {
      auto m = representative(c);
      return m ? std::pair{sent_or_internal(messages_[*m]), messages_[*m].seq} : std::pair{std::int64_t{0}, 0u};
    };
    std::stable_sort(level.begin(), level.end(), [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
  }

  // (6) Roots whose base subjects are the same are gathered.
  std::vector<std::size_t> group_by_subject(std::vector<std::size_t> roots) {
    struct Subject {
      std::string base;
      bool reply = false;
    };
    auto subject_of = [this](std::size_t c) {
      Subject s;
      if (auto m = representative(c))
        s.base = ascii_casemap(base_subject(messages_[*m].subject.value_or(""), &s.reply));
      return s;
    };
    auto dummy = [this](std::size_t c) { return !containers_[c].message; };
    std::map<std::string, std::size_t> table;  // (A)
    for (auto r : roots) {
      auto s = subject_of(r);
      if (s.base.empty()) continue;
      auto [at, added] = table.try_emplace(s.base, r);
      if (added) continue;
      auto current = at->second;
      if ((!dummy(current) && dummy(r)) || (subject_of(current).reply && !s.reply)) at->second = r;
    }
    std::vector<char> gone(containers_.size(), 0);  // (B)
    // Where each root stands in `roots`: a merge that puts a placeholder in a root's place finds
    // it at once (a search of the list would make many subjects cost their square).
    std::map<std::size_t, std::size_t> position;
    for (std::size_t i = 0; i < roots.size(); ++i) position[roots[i]] = i;
    for (std::size_t i = 0; i < roots.size(); ++i) {
      auto r = roots[i];
      if (gone[r]) continue;
      auto s = subject_of(r);
      if (s.base.empty()) continue;
      auto t = table.at(s.base);
      if (t == r) continue;
      if (dummy(t) && dummy(r)) {
        for (auto child : std::vector<std::size_t>(containers_[r].children)) adopt(t, child);
        gone[r] = 1;
      } else if (dummy(t)) {
        adopt(t, r);
        gone[r] = 1;
      } else if (dummy(r)) {
        adopt(r, t);
        gone[t] = 1;
        table[s.base] = r;
      } else if (!subject_of(t).reply && s.reply) {
        adopt(t, r);
        gone[r] = 1;
      } else {
        auto holder = fresh();
        gone.resize(containers_.size(), 0);
        roots[position.at(t)] = holder;
        position[holder] = position.at(t);
        adopt(holder, t);
        adopt(holder, r);
        gone[r] = 1;
        table[s.base] = holder;
      }
    }
    std::vector<std::size_t> out;
    for (auto r : roots)
      if (!gone[r]) out.push_back(r);
    return out;
  }

  ThreadNode node(std::size_t c) const {
    ThreadNode n;
    n.message = containers_[c].message;
    for (auto child : containers_[c].children) n.children.push_back(node(child));
    return n;
  }

  const std::vector<SortMessage>& messages_;
  std::vector<Container> containers_;
  std::map<std::string, std::size_t> ids_;
};

std::vector<ThreadNode> ordered_subject(const std::vector<SortMessage>& messages) {
  // RFC 5256 §4, ORDEREDSUBJECT: by base subject then sent date; each subject's first message
  // is the parent of the others; threads ordered by their first message's sent date.
  std::vector<std::string> bases;
  for (const auto& m : messages) bases.push_back(ascii_casemap(base_subject(m.subject.value_or(""))));
  auto date = [&](std::size_t i) { return std::pair{sent_or_internal(messages[i]), messages[i].seq}; };
  std::vector<std::size_t> order(messages.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (int cmp = bases[a].compare(bases[b]); cmp != 0) return cmp < 0;
    return date(a) < date(b);
  });
  std::vector<ThreadNode> threads;
  for (std::size_t i = 0; i < order.size();) {
    ThreadNode root{order[i], {}};
    std::size_t j = i + 1;
    for (; j < order.size() && bases[order[j]] == bases[order[i]]; ++j) root.children.push_back({order[j], {}});
    threads.push_back(std::move(root));
    i = j;
  }
  std::stable_sort(threads.begin(), threads.end(),
                   [&](const ThreadNode& a, const ThreadNode& b) { return date(*a.message) < date(*b.message); });
  return threads;
}

void render(std::string& out, const ThreadNode& n, const std::vector<SortMessage>& messages, bool uids) {
  bool first = true;
  if (n.message) {
    const auto& m = messages[*n.message];
    fmt::format_to(std::back_inserter(out), "{}", uids ? m.uid : m.seq);
    first = false;
  }
  if (n.children.size() == 1 && n.message) {
    out += ' ';
    render(out, n.children.front(), messages, uids);
    return;
  }
  if (!first && !n.children.empty()) out += ' ';
  for (const auto& child : n.children) {
    out += '(';
    render(out, child, messages, uids);
    out += ')';
  }
}

}  // namespace

std::vector<ThreadNode> thread_messages(const std::vector<SortMessage>& messages, ThreadAlgorithm algorithm) {
  if (algorithm == ThreadAlgorithm::ordered_subject) return ordered_subject(messages);
  return ReferenceThreader(messages).run();
}

std::string format_threads(const std::vector<ThreadNode>& threads, const std::vector<SortMessage>& messages,
                           bool uids) {
  std::string out;
  for (const auto& t : threads) {
    out += '(';
    render(out, t, messages, uids);
    out += ')';
  }
  return out;
}

}  // namespace mailstead::imap
