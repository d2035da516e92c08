// The command grammar of RFC 9051 §9 (and RFC 3501's where rev1 differs) over a Reader.

#include <algorithm>
#include <array>
#include <ctime>

#include "common/command_table.hpp"
#include "common/text/ascii.hpp"
#include "imapd/proto/command.hpp"
#include "imapd/proto/message_facts.hpp"
#include "imapd/proto/reader.hpp"

namespace mailstead::imap {
namespace {

// An option list (GETMETADATA) starts with a letter, where an entry list starts with "/" or a string.
bool is_option_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

constexpr std::array<std::string_view, 12> kMonths = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                      "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};

std::optional<int> month_number(std::string_view name) {
  for (std::size_t i = 0; i < kMonths.size(); ++i)
    if (text::iequals_ascii(name, kMonths[i])) return static_cast<int>(i);
  return std::nullopt;
}

std::optional<int> digits(std::string_view text, std::size_t n) {
  if (text.size() != n) return std::nullopt;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

// Days since the epoch of a civil date (proleptic Gregorian).
std::int64_t days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * static_cast<unsigned>(m + (m > 2 ? -3 : 9)) + 2) / 5 + static_cast<unsigned>(d) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// "d-Mon-yyyy" or "dd-Mon-yyyy"; the day may be space-padded in date-time.
std::optional<std::int64_t> parse_day(std::string_view text) {
  if (!text.empty() && text[0] == ' ') text.remove_prefix(1);
  auto dash1 = text.find('-');
  if (dash1 == std::string_view::npos || dash1 == 0 || dash1 > 2) return std::nullopt;
  auto day = digits(text.substr(0, dash1), dash1);
  auto month = month_number(text.substr(dash1 + 1, 3));
  if (text.size() != dash1 + 9 || text[dash1 + 4] != '-') return std::nullopt;
  auto year = digits(text.substr(dash1 + 5), 4);
  if (!day || !month || !year || *day < 1 || *day > 31) return std::nullopt;
  return days_from_civil(*year, *month + 1, *day);
}

class CommandParser {
 public:
  explicit CommandParser(std::string_view bytes) : r_(bytes) {}

  ParseResult parse();

  // The table's parsers, below, are public: the table outside the class names them.
  std::string read_tag() {
    std::string tag;
    while (is_astring_char(r_.peek()) && r_.peek() != '+' && !r_.at_end()) {
      tag += r_.peek();
      r_.skip(r_.peek());
    }
    if (tag.empty()) Reader::fail("Missing tag");
    return tag;
  }

  // --- the parsers of the command table: each reads a command's arguments ---------------

  template <class T>
  Arguments none() {
    return T{};
  }

  Arguments login() {
    Login login;
    login.user = r_.astring();
    r_.space();
    login.password = r_.astring();
    return login;
  }

  Arguments enable() {
    Enable enable;
    for (;;) {
      enable.capabilities.push_back(r_.upper_atom());
      if (!r_.skip(' ')) return enable;
    }
  }

  Arguments select_command() { return select(false); }
  Arguments examine() {
    Examine examine;
    static_cast<Select&>(examine) = select(true);
    return examine;
  }
  Arguments create_command() { return create(); }
  Arguments delete_command() { return Delete{r_.astring()}; }
  Arguments rename() {
    Rename rename;
    rename.from = r_.astring();
    r_.space();
    rename.to = r_.astring();
    return rename;
  }
  Arguments subscribe() { return Subscribe{r_.astring(), true}; }
  Arguments unsubscribe() {
    Unsubscribe unsubscribe;
    unsubscribe.mailbox = r_.astring();
    unsubscribe.subscribe = false;
    return unsubscribe;
  }
  Arguments list_command() { return list(); }
  Arguments lsub() {
    Lsub lsub;
    lsub.lsub = true;
    lsub.reference = r_.astring();
    r_.space();
    lsub.patterns.push_back(r_.list_mailbox());
    return lsub;
  }
  Arguments status_command() { return status(); }
  Arguments append_command() { return append(); }
  Arguments search_command() { return search(); }
  Arguments fetch_command() { return fetch(); }
  Arguments store_command() { return store(); }
  Arguments copy_command() { return copy(false); }
  Arguments move() {
    Move move;
    static_cast<Copy&>(move) = copy(true);
    return move;
  }
  Arguments replace() {
    Replace replace;
    if (r_.peek() == '*')
      r_.expect('*', "\"*\"");  // message stays 0
    else
      replace.message = r_.nz_number();
    r_.space();
    replace.mailbox = r_.astring();
    r_.space();
    replace.replacement = append_message();
    return replace;
  }
  // EXPUNGE takes no arguments; UID EXPUNGE a set of UIDs (RFC 4315 §2.1).
  Arguments expunge() { return uid_ ? Expunge{r_.sequence_set()} : Expunge{}; }
  Arguments authenticate_command() { return authenticate(); }
  Arguments id_command() { return id(); }
  Arguments get_quota() { return GetQuota{r_.astring()}; }

  // --- METADATA (RFC 5464 §5) ---------------------------------------------------------------

  std::string metadata_entry() {
    auto name = r_.astring();
    if (!valid_metadata_entry(name)) Reader::fail("Invalid metadata entry name");
    return name;
  }

  // "GETMETADATA" [SP "(" option *(SP option) ")"] SP mailbox SP (entry / "(" entry *(SP entry) ")")
  // (§5). The RFC's own examples put the options after the mailbox, and clients copied them:
  // that order is read too (an option list starts with a letter, an entry list with "/" or a
  // string).
  Arguments get_metadata() {
    GetMetadata g;
    if (r_.peek() == '(') {
      metadata_options(g);
      r_.space();
    }
    g.mailbox = r_.astring();
    r_.space();
    if (r_.rest().size() > 1 && r_.peek() == '(' && is_option_start(r_.rest()[1])) {
      metadata_options(g);
      r_.space();
    }
    if (r_.skip('(')) {
      for (;;) {
        g.entries.push_back(metadata_entry());
        if (r_.skip(')')) break;
        r_.space();
      }
    } else {
      g.entries.push_back(metadata_entry());
    }
    return g;
  }

  // "(" ("MAXSIZE" SP number / "DEPTH" SP ("0" / "1" / "infinity")) *(SP ...) ")"
  void metadata_options(GetMetadata& g) {
    r_.expect('(', "\"(\"");
    for (;;) {
      auto option = r_.upper_atom();
      r_.space();
      if (option == "MAXSIZE") {
        g.max_size = r_.number64();
      } else if (option == "DEPTH") {
        auto depth = r_.upper_atom();
        if (depth == "0")
          g.depth = GetMetadata::Depth::zero;
        else if (depth == "1")
          g.depth = GetMetadata::Depth::one;
        else if (depth == "INFINITY")
          g.depth = GetMetadata::Depth::infinity;
        else
          Reader::fail("DEPTH is 0, 1 or infinity");
      } else {
        Reader::fail("Unknown GETMETADATA option " + option);
      }
      if (r_.skip(')')) break;
      r_.space();
    }
  }

  // "SETMETADATA" SP mailbox SP "(" entry SP value *(SP entry SP value) ")", value = nstring / literal8
  Arguments set_metadata() {
    SetMetadata m;
    m.mailbox = r_.astring();
    r_.space();
    r_.expect('(', "\"(\"");
    for (;;) {
      auto name = metadata_entry();
      r_.space();
      std::optional<std::string> value;
      if (r_.peek() == '~') {
        value = r_.literal(true);
      } else {
        bool nil = false;
        auto text = r_.nstring_or_string(nil);
        if (!nil) value = std::move(text);
      }
      m.entries.emplace_back(std::move(name), std::move(value));
      if (r_.skip(')')) break;
      r_.space();
    }
    return m;
  }
  Arguments get_quota_root() { return GetQuotaRoot{r_.astring()}; }
  Arguments set_quota_command() { return set_quota(); }

  SetQuota set_quota() {
    SetQuota q;
    q.root = r_.astring();
    r_.space();
    r_.expect('(', "quota limits");
    while (!r_.skip(')')) {
      if (!q.limits.empty()) r_.space();
      auto resource = r_.upper_atom();
      r_.space();
      q.limits.emplace_back(std::move(resource), r_.number64());
    }
    return q;
  }

  Authenticate authenticate() {
    Authenticate auth;
    auth.mechanism = r_.upper_atom();
    if (r_.skip(' ')) {
      std::string initial;
      while (!r_.at_end() && r_.peek() != '\r') {
        initial += r_.peek();
        r_.skip(r_.peek());
      }
      if (initial.empty()) Reader::fail("Empty initial response");
      auth.initial = std::move(initial);
    }
    return auth;
  }

  Select select(bool read_only) {
    Select select;
    select.mailbox = r_.astring();
    select.read_only = read_only;
    if (r_.skip(' ')) {
      r_.expect('(', "select parameters");
      if (!r_.skip(')')) {
        for (;;) {
          auto param = r_.upper_atom();
          if (param == "CONDSTORE")
            select.condstore = true;
          else if (param == "QRESYNC")
            select.qresync = qresync_parameters();
          else
            Reader::fail("Unsupported SELECT parameter " + param);
          if (r_.skip(')')) break;
          r_.space();
        }
      }
    }
    return select;
  }

  QresyncParameters qresync_parameters() {
    QresyncParameters q;
    r_.space();
    r_.expect('(', "QRESYNC parameters");
    q.uid_validity = r_.nz_number();
    r_.space();
    q.modseq = r_.number64();
    if (r_.skip(' ')) {
      if (r_.peek() != '(') {
        q.known_uids = r_.sequence_set();
        if (q.known_uids->saved) Reader::fail("\"$\" is not a set of known UIDs");
      }
      if (q.known_uids ? r_.skip(' ') : true) {
        r_.expect('(', "sequence match data");
        r_.sequence_set();
        r_.space();
        r_.sequence_set();
        r_.expect(')', "sequence match data");
      }
    }
    r_.expect(')', "QRESYNC parameters");
    return q;
  }

  Create create() {
    Create create;
    create.mailbox = r_.astring();
    if (r_.skip(' ')) {
      r_.expect('(', "create parameters");
      if (!r_.word("USE")) Reader::fail("Unsupported CREATE parameter");
      r_.space();
      auto uses = r_.flag_list();
      if (uses.size() != 1) Reader::fail("Give exactly one special use");
      create.special_use = uses[0];
      r_.expect(')', "\")\"");
    }
    return create;
  }

  List list() {
    List list;
    if (r_.peek() == '(') {
      list.extended = true;
      r_.skip('(');
      while (!r_.skip(')')) {
        auto option = r_.upper_atom();
        if (option == "SUBSCRIBED")
          list.select_subscribed = true;
        else if (option == "SPECIAL-USE")
          list.select_special_use = true;
        else if (option == "RECURSIVEMATCH")
          list.recursive_match = true;
        else if (option != "REMOTE")
          Reader::fail("Unsupported LIST selection option " + option);
        if (r_.peek() != ')') r_.space();
      }
      if (list.recursive_match && !list.select_subscribed)
        Reader::fail("RECURSIVEMATCH needs another selection option");
      r_.space();
    }
    list.reference = r_.astring();
    r_.space();
    if (r_.skip('(')) {
      for (;;) {
        list.patterns.push_back(r_.list_mailbox());
        if (r_.skip(')')) break;
        r_.space();
      }
      list.extended = true;
    } else {
      list.patterns.push_back(r_.list_mailbox());
    }
    if (r_.skip(' ')) {
      if (!r_.word("RETURN")) Reader::fail("Expected RETURN");
      list.extended = true;
      r_.space();
      r_.expect('(', "return options");
      while (!r_.skip(')')) {
        auto option = r_.upper_atom();
        if (option == "SUBSCRIBED")
          list.return_subscribed = true;
        else if (option == "CHILDREN")
          list.return_children = true;
        else if (option == "SPECIAL-USE")
          list.return_special_use = true;
        else if (option == "STATUS") {
          r_.space();
          list.return_status = status_items();
        } else
          Reader::fail("Unsupported LIST return option " + option);
        if (r_.peek() != ')') r_.space();
      }
    }
    return list;
  }

  std::vector<std::string> status_items() {
    std::vector<std::string> items;
    r_.expect('(', "status items");
    for (;;) {
      auto item = r_.upper_atom();
      if (item != "MESSAGES" && item != "RECENT" && item != "UIDNEXT" && item != "UIDVALIDITY" && item != "UNSEEN" &&
          item != "SIZE" && item != "DELETED" && item != "HIGHESTMODSEQ" && item != "MAILBOXID")
        Reader::fail("Unknown STATUS item " + item);
      items.push_back(item);
      if (r_.skip(')')) return items;
      r_.space();
    }
  }

  Status status() {
    Status status;
    status.mailbox = r_.astring();
    r_.space();
    status.items = status_items();
    return status;
  }

  Append append() {
    Append append;
    append.mailbox = r_.astring();
    do {
      r_.space();
      append.messages.push_back(append_message());
    } while (!r_.at_command_end());
    return append;
  }

  AppendMessage append_message() {
    AppendMessage m;
    if (r_.peek() == '(') {
      m.flags = r_.flag_list();
      r_.space();
    }
    if (r_.peek() == '"') {
      m.date = r_.quoted();
      if (!parse_date_time(*m.date)) Reader::fail("Invalid date-time");
      r_.space();
    }
    if (r_.word("UTF8")) {  // RFC 6855 §4: UTF8 (literal8)
      r_.space();
      r_.expect('(', "\"(\"");
      m.message = r_.literal(true);
      r_.expect(')', "\")\"");
    } else {
      if (!r_.at_literal()) Reader::fail("The message must be a literal");
      m.message = r_.literal(true);
    }
    return m;
  }

  // --- SEARCH -----------------------------------------------------------------------------

  Search search() {
    Search search;
    auto& request = search.request;
    return_options(request, "SEARCH");
    if (r_.word("CHARSET")) {
      r_.space();
      request.charset = text::upper_ascii(r_.astring());
      r_.space();
    }
    search_criteria(request);
    return search;
  }

  // "RETURN (...) " of ESEARCH (RFC 4731), SEARCHRES (RFC 5182), ESORT and CONTEXT (RFC 5267
  // §3, §5).
  void return_options(SearchRequest& request, std::string_view command) {
    if (!r_.word("RETURN")) return;
    request.extended = true;
    r_.space();
    r_.expect('(', "return options");
    while (!r_.skip(')')) {
      auto option = r_.upper_atom();
      if (option == "MIN")
        request.returns |= SearchRequest::kMin;
      else if (option == "MAX")
        request.returns |= SearchRequest::kMax;
      else if (option == "ALL")
        request.returns |= SearchRequest::kAll;
      else if (option == "COUNT")
        request.returns |= SearchRequest::kCount;
      else if (option == "SAVE" && command == "SEARCH")
        request.returns |= SearchRequest::kSave;
      else if (option == "CONTEXT")
        request.returns |= SearchRequest::kContext;
      else if (option == "UPDATE")
        request.returns |= SearchRequest::kUpdate;
      else if (option == "PARTIAL")
        partial_range(request);
      else
        Reader::fail("Unknown " + std::string(command) + " return option " + option);
      if (r_.peek() != ')') r_.space();
    }
    // RFC 5267 §4.4: one PARTIAL or one ALL, not both.
    if ((request.returns & SearchRequest::kPartial) && (request.returns & SearchRequest::kAll))
      Reader::fail("PARTIAL and ALL cannot be asked for together");
    if (request.returns == 0) request.returns = SearchRequest::kAll;  // RFC 4731 §3.1
    r_.space();
  }

  // RFC 5267 §5: "PARTIAL" SP nz-number ":" nz-number; 500:400 is 400:500.
  void partial_range(SearchRequest& request) {
    if (request.returns & SearchRequest::kPartial) Reader::fail("PARTIAL may be given once");
    r_.space();
    auto first = r_.nz_number();
    r_.expect(':', "\":\" of a PARTIAL range");
    auto last = r_.nz_number();
    request.returns |= SearchRequest::kPartial;
    request.partial_first = std::min(first, last);
    request.partial_last = std::max(first, last);
  }

  void search_criteria(SearchRequest& request) {
    request.key.kind = SearchKey::Kind::and_;
    for (;;) {
      request.key.children.push_back(search_key());
      if (!r_.skip(' ')) break;
    }
  }

  // RFC 5256 §3: SORT (criteria) charset criteria...
  Sort sort() {
    using Key = SortCriterion::Key;
    Sort sort;
    return_options(sort.request, "SORT");
    r_.expect('(', "sort criteria");
    for (;;) {
      SortCriterion criterion;
      auto name = r_.upper_atom();
      if (name == "REVERSE") {
        criterion.reverse = true;
        r_.space();
        name = r_.upper_atom();
      }
      static const std::pair<std::string_view, Key> kKeys[] = {{"ARRIVAL", Key::arrival},
                                                               {"CC", Key::cc},
                                                               {"DATE", Key::date},
                                                               {"FROM", Key::from},
                                                               {"SIZE", Key::size},
                                                               {"SUBJECT", Key::subject},
                                                               {"TO", Key::to},
                                                               {"DISPLAYFROM", Key::display_from},
                                                               {"DISPLAYTO", Key::display_to}};
      auto known = std::find_if(std::begin(kKeys), std::end(kKeys), [&](const auto& k) { return k.first == name; });
      if (known == std::end(kKeys)) Reader::fail("Unknown sort criterion " + name);
      criterion.key = known->second;
      sort.criteria.push_back(criterion);
      if (r_.skip(')')) break;
      r_.space();
      if (sort.criteria.size() > 16) Reader::fail("Too many sort criteria");
    }
    r_.space();
    sort.request.charset = text::upper_ascii(r_.astring());
    r_.space();
    search_criteria(sort.request);
    return sort;
  }
  Arguments sort_command() { return sort(); }

  Arguments compress() { return Compress{r_.upper_atom()}; }

  // RFC 5267 §5: "CANCELUPDATE" 1*(SP quoted). A tag is at most a line long, and so is the
  // list: the command reader bounds the line.
  Arguments cancel_update() {
    CancelUpdate cancel;
    for (;;) {
      cancel.tags.push_back(r_.quoted());
      if (!r_.skip(' ')) break;
    }
    return cancel;
  }

  // RFC 5256 §3: THREAD algorithm charset criteria...
  Arguments thread() {
    Thread thread;
    auto algorithm = r_.upper_atom();
    if (algorithm == "ORDEREDSUBJECT")
      thread.algorithm = ThreadAlgorithm::ordered_subject;
    else if (algorithm == "REFERENCES")
      thread.algorithm = ThreadAlgorithm::references;
    else
      Reader::fail("Unknown threading algorithm " + algorithm);
    r_.space();
    thread.request.charset = text::upper_ascii(r_.astring());
    r_.space();
    search_criteria(thread.request);
    return thread;
  }

  std::int64_t search_date() {
    auto text = r_.peek() == '"' ? r_.quoted() : r_.atom();
    auto day = parse_search_date(text);
    if (!day) Reader::fail("Invalid date " + text);
    return *day;
  }

  SearchKey search_key() {
    using K = SearchKey::Kind;
    SearchKey key;
    char c = r_.peek();
    if ((c >= '0' && c <= '9') || c == '*' || c == '$') {
      key.kind = K::sequence;
      key.set = r_.sequence_set();
      return key;
    }
    if (r_.skip('(')) {
      r_.enter();
      key.kind = K::and_;
      for (;;) {
        key.children.push_back(search_key());
        if (r_.skip(')')) break;
        r_.space();
      }
      r_.leave();
      return key;
    }
    auto name = r_.upper_atom();
    auto flag = [&](K kind, std::uint32_t f) {
      key.kind = kind;
      key.flag = f;
      return key;
    };
    auto string_arg = [&](K kind, std::string field = {}) {
      r_.space();
      key.kind = kind;
      key.field = std::move(field);
      key.value = r_.astring();
      return key;
    };
    auto date_arg = [&](K kind) {
      r_.space();
      key.kind = kind;
      key.day = search_date();
      return key;
    };
    if (name == "ALL") return key;
    if (name == "ANSWERED") return flag(K::flag_set, kAnswered);
    if (name == "DELETED") return flag(K::flag_set, kDeleted);
    if (name == "DRAFT") return flag(K::flag_set, kDraft);
    if (name == "FLAGGED") return flag(K::flag_set, kFlagged);
    if (name == "SEEN") return flag(K::flag_set, kSeen);
    if (name == "UNANSWERED") return flag(K::flag_unset, kAnswered);
    if (name == "UNDELETED") return flag(K::flag_unset, kDeleted);
    if (name == "UNDRAFT") return flag(K::flag_unset, kDraft);
    if (name == "UNFLAGGED") return flag(K::flag_unset, kFlagged);
    if (name == "UNSEEN") return flag(K::flag_unset, kSeen);
    if (name == "RECENT") return key.kind = K::recent, key;
    if (name == "NEW") return key.kind = K::new_, key;
    if (name == "OLD") return key.kind = K::old, key;
    if (name == "KEYWORD") {
      r_.space();
      key.kind = K::keyword;
      key.value = r_.flag();
      return key;
    }
    if (name == "UNKEYWORD") {
      r_.space();
      key.kind = K::unkeyword;
      key.value = r_.flag();
      return key;
    }
    if (name == "BEFORE") return date_arg(K::before);
    if (name == "ON") return date_arg(K::on);
    if (name == "SINCE") return date_arg(K::since);
    if (name == "SENTBEFORE") return date_arg(K::sent_before);
    if (name == "SENTON") return date_arg(K::sent_on);
    if (name == "SENTSINCE") return date_arg(K::sent_since);
    if (name == "SAVEDBEFORE") return date_arg(K::saved_before);  // RFC 8514 §4.3
    if (name == "SAVEDON") return date_arg(K::saved_on);
    if (name == "SAVEDSINCE") return date_arg(K::saved_since);
    if (name == "SAVEDATESUPPORTED") return key.kind = K::saved_date_supported, key;
    if (name == "LARGER" || name == "SMALLER") {
      r_.space();
      key.kind = name == "LARGER" ? K::larger : K::smaller;
      key.number = r_.number64();
      return key;
    }
    if (name == "FROM" || name == "TO" || name == "CC" || name == "BCC" || name == "SUBJECT") {
      auto header = string_arg(K::header, name);
      header.addresses = name != "SUBJECT";
      return header;
    }
    if (name == "HEADER") {
      r_.space();
      key.kind = K::header;
      key.field = text::upper_ascii(r_.astring());
      r_.space();
      key.value = r_.astring();
      return key;
    }
    if (name == "BODY") return string_arg(K::body);
    if (name == "TEXT") return string_arg(K::text);
    if (name == "UID") {
      r_.space();
      key.kind = K::uid;
      key.set = r_.sequence_set();
      return key;
    }
    if (name == "NOT") {
      r_.space();
      r_.enter();
      key.kind = K::not_;
      key.children.push_back(search_key());
      r_.leave();
      return key;
    }
    if (name == "OR") {
      r_.enter();
      key.kind = K::or_;
      r_.space();
      key.children.push_back(search_key());
      r_.space();
      key.children.push_back(search_key());
      r_.leave();
      return key;
    }
    if (name == "EMAILID" || name == "THREADID") {  // RFC 8474 §6
      r_.space();
      key.kind = name == "EMAILID" ? K::email_id : K::thread_id;
      key.value = r_.atom();
      return key;
    }
    if (name == "MODSEQ") {
      r_.space();
      if (r_.peek() == '"') {  // optional entry name and type (RFC 7162 §3.1.5)
        r_.quoted();
        r_.space();
        auto type = r_.upper_atom();
        if (type != "PRIV" && type != "SHARED" && type != "ALL") Reader::fail("Invalid MODSEQ entry type");
        r_.space();
      }
      key.kind = K::modseq;
      key.number = r_.number64();
      return key;
    }
    Reader::fail("Unknown search key " + name);
  }

  // --- FETCH ------------------------------------------------------------------------------

  Fetch fetch() {
    Fetch fetch;
    fetch.set = r_.sequence_set();
    r_.space();
    auto& items = fetch.request.items;
    using K = FetchItem::Kind;
    auto macro = [&items](std::initializer_list<K> kinds) {
      for (auto kind : kinds) {
        FetchItem item;
        item.kind = kind;
        items.push_back(item);
      }
    };
    if (r_.word("ALL")) {
      macro({K::flags, K::internal_date, K::size, K::envelope});
    } else if (r_.word("FAST")) {
      macro({K::flags, K::internal_date, K::size});
    } else if (r_.word("FULL")) {
      macro({K::flags, K::internal_date, K::size, K::envelope, K::body});
    } else if (r_.skip('(')) {
      for (;;) {
        items.push_back(fetch_item());
        if (r_.skip(')')) break;
        r_.space();
      }
    } else {
      items.push_back(fetch_item());
    }
    if (r_.skip(' ')) {
      r_.expect('(', "fetch modifiers");
      for (;;) {
        auto modifier = r_.upper_atom();
        if (modifier == "CHANGEDSINCE") {
          r_.space();
          fetch.request.changed_since = r_.number64();
        } else if (modifier == "VANISHED") {
          fetch.request.vanished = true;
        } else {
          Reader::fail("Unknown FETCH modifier " + modifier);
        }
        if (r_.skip(')')) break;
        r_.space();
      }
    }
    return fetch;
  }

  FetchItem fetch_item() {
    using K = FetchItem::Kind;
    FetchItem item;
    // Section names carry "." and "[": read the name up to "[" or the end of the atom.
    std::string name;
    while (!r_.at_end() && is_atom_char(r_.peek()) && r_.peek() != '[') {
      name += text::ascii_upper(r_.peek());
      r_.skip(r_.peek());
    }
    if (name.empty()) Reader::fail("Expected a fetch item");
    if (name == "FLAGS") return item.kind = K::flags, item;
    if (name == "INTERNALDATE") return item.kind = K::internal_date, item;
    if (name == "RFC822.SIZE") return item.kind = K::size, item;
    if (name == "ENVELOPE") return item.kind = K::envelope, item;
    if (name == "BODYSTRUCTURE") return item.kind = K::body_structure, item;
    if (name == "UID") return item.kind = K::uid, item;
    if (name == "MODSEQ") return item.kind = K::modseq, item;
    if (name == "EMAILID") return item.kind = K::email_id, item;    // RFC 8474 §5
    if (name == "SAVEDATE") return item.kind = K::save_date, item;  // RFC 8514 §4.2
    if (name == "THREADID") return item.kind = K::thread_id, item;
    if (name == "PREVIEW") return preview_item();  // RFC 8970 §5
    if (name == "RFC822" || name == "RFC822.HEADER" || name == "RFC822.TEXT") {
      item.kind = K::body_section;
      item.legacy_name = name;
      item.peek = name == "RFC822.HEADER";
      if (name == "RFC822.HEADER") item.section.text = Section::Text::header;
      if (name == "RFC822.TEXT") item.section.text = Section::Text::text;
      return item;
    }
    if (name == "BODY" && r_.peek() != '[') return item.kind = K::body, item;
    if (name == "BODY" || name == "BODY.PEEK") {
      item.kind = K::body_section;
      item.peek = name == "BODY.PEEK";
      item.section = section();
      item.partial = partial();
      return item;
    }
    if (name == "BINARY" || name == "BINARY.PEEK" || name == "BINARY.SIZE") {
      item.kind = name == "BINARY.SIZE" ? K::binary_size : K::binary;
      item.peek = name != "BINARY";
      item.section = section();
      if (item.section.text != Section::Text::all) Reader::fail("BINARY takes only a part number");
      if (item.kind == K::binary) item.partial = partial();
      return item;
    }
    Reader::fail("Unknown fetch item " + name);
  }

  // "PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"], preview-mod = "LAZY" (RFC 8970 §7).
  // The space before "(" tells the modifiers from the next item of a list.
  FetchItem preview_item() {
    FetchItem item;
    item.kind = FetchItem::Kind::preview;
    if (!r_.rest().starts_with(" (")) return item;
    r_.space();
    r_.expect('(', "preview modifiers");
    for (;;) {
      auto modifier = r_.upper_atom();
      if (modifier != "LAZY") Reader::fail("Unknown PREVIEW modifier " + modifier);
      item.lazy = true;
      if (r_.skip(')')) break;
      r_.space();
    }
    return item;
  }

  Section section() {
    Section section;
    r_.expect('[', "\"[\"");
    if (r_.skip(']')) return section;
    std::string spec = text::upper_ascii(r_.atom());
    // section-part: digits separated by "."
    std::size_t pos = 0;
    while (pos < spec.size() && spec[pos] >= '0' && spec[pos] <= '9') {
      std::size_t end = pos;
      while (end < spec.size() && spec[end] >= '0' && spec[end] <= '9') ++end;
      auto part = std::stoull(spec.substr(pos, std::min<std::size_t>(end - pos, 11)));
      if (part == 0 || part > 0xFFFFFFFFu || end - pos > 10) Reader::fail("Invalid part number");
      section.part.push_back(static_cast<std::uint32_t>(part));
      pos = end;
      if (pos < spec.size()) {
        if (spec[pos] != '.') Reader::fail("Invalid section");
        ++pos;
        if (pos == spec.size()) Reader::fail("Invalid section");
      }
    }
    auto text_spec = spec.substr(pos);
    using T = Section::Text;
    if (text_spec.empty())
      section.text = T::all;
    else if (text_spec == "HEADER")
      section.text = T::header;
    else if (text_spec == "TEXT")
      section.text = T::text;
    else if (text_spec == "MIME" && !section.part.empty())
      section.text = T::mime;
    else if (text_spec == "HEADER.FIELDS" || text_spec == "HEADER.FIELDS.NOT") {
      section.text = text_spec == "HEADER.FIELDS" ? T::header_fields : T::header_fields_not;
      r_.space();
      r_.expect('(', "a header list");
      for (;;) {
        section.fields.push_back(r_.astring());
        if (r_.skip(')')) break;
        r_.space();
      }
    } else
      Reader::fail("Invalid section " + text_spec);
    r_.expect(']', "\"]\"");
    return section;
  }

  std::optional<Partial> partial() {
    if (!r_.skip('<')) return std::nullopt;
    Partial p;
    p.offset = r_.number64();
    r_.expect('.', "\".\"");
    p.length = r_.number64();
    if (p.length == 0) Reader::fail("A partial length must not be zero");
    r_.expect('>', "\">\"");
    return p;
  }

  // --- STORE, COPY, ID --------------------------------------------------------------------

  Store store() {
    Store store;
    store.set = r_.sequence_set();
    r_.space();
    if (r_.skip('(')) {
      if (!r_.word("UNCHANGEDSINCE")) Reader::fail("Unknown STORE modifier");
      r_.space();
      store.unchanged_since = r_.number64();
      r_.expect(')', "\")\"");
      r_.space();
    }
    if (r_.skip('+'))
      store.operation = Store::Operation::add;
    else if (r_.skip('-'))
      store.operation = Store::Operation::remove;
    auto item = r_.upper_atom();
    if (item == "FLAGS.SILENT")
      store.silent = true;
    else if (item != "FLAGS")
      Reader::fail("Expected FLAGS");
    r_.space();
    if (r_.peek() == '(') {
      store.flags = r_.flag_list();
    } else {
      for (;;) {
        store.flags.push_back(r_.flag());
        if (!r_.skip(' ')) break;
      }
    }
    return store;
  }

  Copy copy(bool move) {
    Copy copy;
    copy.move = move;
    copy.set = r_.sequence_set();
    r_.space();
    copy.mailbox = r_.astring();
    return copy;
  }

  Id id() {
    Id id;
    if (r_.word("NIL")) return id;
    r_.expect('(', "\"(\" or NIL");
    if (r_.skip(')')) return id;
    for (;;) {
      auto field = r_.string();
      r_.space();
      bool nil = false;
      auto value = r_.nstring_or_string(nil);
      if (id.fields.size() < 30) id.fields.emplace_back(std::move(field), std::move(value));
      if (r_.skip(')')) return id;
      r_.space();
    }
  }

  bool uid_ = false;  // parsing the UID form of the command

 private:
  Reader r_;
};

// --- the command table ------------------------------------------------------------------------

constexpr unsigned bit(State s) {
  return 1U << static_cast<unsigned>(s);
}
constexpr unsigned kAnyState = bit(State::not_authenticated) | bit(State::authenticated) | bit(State::selected);
constexpr unsigned kNotAuthenticated = bit(State::not_authenticated);
constexpr unsigned kAuthenticated = bit(State::authenticated) | bit(State::selected);
constexpr unsigned kSelected = bit(State::selected);

// Flags: the command has arguments after its name; it has a UID form (RFC 9051 §6.4.9).
constexpr unsigned kArguments = 1;
constexpr unsigned kUidForm = 2;

struct Row {
  std::string_view name;
  std::size_t alternative;  // the index of the command's type in Arguments
  unsigned states;
  unsigned flags;
  Arguments (CommandParser::*parse)();
};

template <class T>
constexpr Row row(std::string_view name, unsigned states, unsigned flags, Arguments (CommandParser::*parse)()) {
  return {name, command_table::index_of<T, Arguments>(), states, flags, parse};
}

// RFC 9051 §6.1 (any state), §6.2 (not authenticated), §6.3 (authenticated), §6.4 (selected),
// and the extensions' sections where they add commands.
constexpr std::array kCommands{
    row<Capability>("CAPABILITY", kAnyState, 0, &CommandParser::none<Capability>),
    row<Noop>("NOOP", kAnyState, 0, &CommandParser::none<Noop>),
    row<Logout>("LOGOUT", kAnyState, 0, &CommandParser::none<Logout>),
    row<Id>("ID", kAnyState, kArguments, &CommandParser::id_command),  // RFC 2971
    row<StartTls>("STARTTLS", kNotAuthenticated, 0, &CommandParser::none<StartTls>),
    row<Authenticate>("AUTHENTICATE", kNotAuthenticated, kArguments, &CommandParser::authenticate_command),
    row<Login>("LOGIN", kNotAuthenticated, kArguments, &CommandParser::login),
    row<Enable>("ENABLE", kAuthenticated, kArguments, &CommandParser::enable),  // RFC 5161
    row<Select>("SELECT", kAuthenticated, kArguments, &CommandParser::select_command),
    row<Examine>("EXAMINE", kAuthenticated, kArguments, &CommandParser::examine),
    row<Create>("CREATE", kAuthenticated, kArguments, &CommandParser::create_command),
    row<Delete>("DELETE", kAuthenticated, kArguments, &CommandParser::delete_command),
    row<Rename>("RENAME", kAuthenticated, kArguments, &CommandParser::rename),
    row<Subscribe>("SUBSCRIBE", kAuthenticated, kArguments, &CommandParser::subscribe),
    row<Unsubscribe>("UNSUBSCRIBE", kAuthenticated, kArguments, &CommandParser::unsubscribe),
    row<List>("LIST", kAuthenticated, kArguments, &CommandParser::list_command),
    row<Lsub>("LSUB", kAuthenticated, kArguments, &CommandParser::lsub),
    row<Namespace>("NAMESPACE", kAuthenticated, 0, &CommandParser::none<Namespace>),  // RFC 2342
    row<Status>("STATUS", kAuthenticated, kArguments, &CommandParser::status_command),
    row<Append>("APPEND", kAuthenticated, kArguments, &CommandParser::append_command),
    row<Idle>("IDLE", kAuthenticated, 0, &CommandParser::none<Idle>),                  // RFC 2177
    row<GetQuota>("GETQUOTA", kAuthenticated, kArguments, &CommandParser::get_quota),  // RFC 9208
    row<GetQuotaRoot>("GETQUOTAROOT", kAuthenticated, kArguments, &CommandParser::get_quota_root),
    row<SetQuota>("SETQUOTA", kAuthenticated, kArguments, &CommandParser::set_quota_command),
    row<GetMetadata>("GETMETADATA", kAuthenticated, kArguments, &CommandParser::get_metadata),  // RFC 5464
    row<SetMetadata>("SETMETADATA", kAuthenticated, kArguments, &CommandParser::set_metadata),
    row<Check>("CHECK", kSelected, 0, &CommandParser::none<Check>),
    row<Close>("CLOSE", kSelected, 0, &CommandParser::none<Close>),
    row<Unselect>("UNSELECT", kSelected, 0, &CommandParser::none<Unselect>),  // RFC 3691
    row<Expunge>("EXPUNGE", kSelected, kUidForm, &CommandParser::expunge),
    row<Search>("SEARCH", kSelected, kArguments | kUidForm, &CommandParser::search_command),
    row<Sort>("SORT", kSelected, kArguments | kUidForm, &CommandParser::sort_command),        // RFC 5256
    row<Thread>("THREAD", kSelected, kArguments | kUidForm, &CommandParser::thread),          // RFC 5256
    row<CancelUpdate>("CANCELUPDATE", kSelected, kArguments, &CommandParser::cancel_update),  // RFC 5267
    row<Fetch>("FETCH", kSelected, kArguments | kUidForm, &CommandParser::fetch_command),
    row<Store>("STORE", kSelected, kArguments | kUidForm, &CommandParser::store_command),
    row<Copy>("COPY", kSelected, kArguments | kUidForm, &CommandParser::copy_command),
    row<Move>("MOVE", kSelected, kArguments | kUidForm, &CommandParser::move),                       // RFC 6851
    row<Replace>("REPLACE", kSelected, kArguments | kUidForm, &CommandParser::replace),              // RFC 8508
    row<Compress>("COMPRESS", kAuthenticated, kArguments, &CommandParser::compress),                 // RFC 4978
    row<Unauthenticate>("UNAUTHENTICATE", kAuthenticated, 0, &CommandParser::none<Unauthenticate>),  // RFC 8437
};
static_assert(command_table::describes_every_command(kCommands, std::variant_size_v<Arguments>));

const Row* find_row(std::string_view name) {
  for (const auto& r : kCommands)
    if (r.name == name) return &r;
  return nullptr;
}

ParseResult CommandParser::parse() {
  std::string tag;
  try {
    tag = read_tag();
    r_.space();
    Command command;
    command.tag = tag;
    command.name = r_.upper_atom();
    const Row* row = nullptr;
    if (command.name == "UID") {
      r_.space();
      command.uid = uid_ = true;
      command.name = r_.upper_atom();
      r_.space();
      row = find_row(command.name);
      if (!row || !(row->flags & kUidForm)) Reader::fail("Unknown UID command");
      command.name = "UID " + command.name;
    } else {
      row = find_row(command.name);
      if (!row || (row->flags & kArguments)) {
        if (r_.at_command_end()) Reader::fail("Missing arguments");
        r_.space();
        if (!row) Reader::fail("Unknown command");
      }
    }
    command.arguments = (this->*row->parse)();
    r_.expect_command_end();
    return command;
  } catch (const ParseFailure& e) {
    return ParseError{std::move(tag), e.what()};
  }
}

}  // namespace

bool sets_seen(const FetchRequest& request) {
  for (const auto& item : request.items)
    if ((item.kind == FetchItem::Kind::body_section || item.kind == FetchItem::Kind::binary) && !item.peek) return true;
  return false;
}

ParseResult parse_command(std::string_view bytes) {
  return CommandParser(bytes).parse();
}

bool valid_metadata_entry(std::string_view name) {
  if (name.empty() || name.size() > kMaxMetadataEntryName || name.back() == '/') return false;
  if (name.find("//") != std::string_view::npos) return false;
  for (char c : name)
    if (c < 0x20 || c >= 0x7f || c == '*' || c == '%') return false;  // §3.2 (0x7f: not printable either)
  auto lower = text::lower_ascii(name);
  std::string_view rest = lower;
  if (rest.starts_with("/private/"))
    rest.remove_prefix(9);
  else if (rest.starts_with("/shared/"))
    rest.remove_prefix(8);
  else
    return false;
  // Vendor entries name their vendor: /shared/vendor/<vendor-token>[/...] (§3.2.1).
  return rest != "vendor";
}

namespace {

bool has_sequence_key(const SearchKey& key) {
  if (key.kind == SearchKey::Kind::sequence && !key.set.saved) return true;
  return std::any_of(key.children.begin(), key.children.end(), has_sequence_key);
}

}  // namespace

bool uses_sequence_numbers(const Command& command) {
  const auto& a = command.arguments;
  const SearchRequest* search = std::get_if<Search>(&a) != nullptr   ? &std::get<Search>(a).request
                                : std::get_if<Sort>(&a) != nullptr   ? &std::get<Sort>(a).request
                                : std::get_if<Thread>(&a) != nullptr ? &std::get<Thread>(a).request
                                                                     : nullptr;
  if (search != nullptr && has_sequence_key(search->key)) return true;
  if (command.uid) return false;
  return search != nullptr || std::holds_alternative<Fetch>(a) || std::holds_alternative<Store>(a) ||
         std::holds_alternative<Copy>(a) || std::holds_alternative<Move>(a) || std::holds_alternative<Replace>(a);
}

bool allowed(State state, const Arguments& arguments) {
  return (command_table::row_of(kCommands, arguments.index())->states & bit(state)) != 0;
}

bool before_login_only(const Arguments& arguments) {
  return command_table::row_of(kCommands, arguments.index())->states == kNotAuthenticated;
}

std::string_view peek_tag(std::string_view line) {
  std::size_t n = 0;
  while (n < line.size() && is_astring_char(line[n]) && line[n] != '+') ++n;
  return line.substr(0, n);
}

std::optional<std::int64_t> parse_search_date(std::string_view text) {
  return parse_day(text);
}

std::optional<std::int64_t> parse_date_time(std::string_view text) {
  // "dd-Mon-yyyy hh:mm:ss +zzzz" (26 characters; a day below 10 may be space-padded)
  if (text.size() != 26 || text[11] != ' ' || text[14] != ':' || text[17] != ':' || text[20] != ' ')
    return std::nullopt;
  auto day = parse_day(text.substr(0, 11));
  auto hours = digits(text.substr(12, 2), 2);
  auto minutes = digits(text.substr(15, 2), 2);
  auto seconds = digits(text.substr(18, 2), 2);
  auto zone = digits(text.substr(22, 4), 4);
  char sign = text[21];
  if (!day || !hours || !minutes || !seconds || !zone || (sign != '+' && sign != '-')) return std::nullopt;
  if (*hours > 23 || *minutes > 59 || *seconds > 60 || *zone % 100 > 59) return std::nullopt;
  std::int64_t offset = (std::int64_t{*zone / 100} * 3600 + std::int64_t{*zone % 100} * 60) * (sign == '-' ? -1 : 1);
  return *day * 86400 + std::int64_t{*hours} * 3600 + std::int64_t{*minutes} * 60 + *seconds - offset;
}

}  // namespace mailstead::imap
