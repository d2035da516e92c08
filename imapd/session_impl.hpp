#pragma once
// The IMAP session class, shared by the files that implement its commands:
//   session.cpp             the command loop, reading literals, output, dispatch
//   connection_commands.cpp CAPABILITY, NOOP, LOGOUT, ID, ENABLE, STARTTLS, AUTHENTICATE, LOGIN
//   idle_command.cpp        IDLE
//   session_sync.cpp        learning other sessions' changes and reporting them
//   select_command.cpp      SELECT, EXAMINE, \Recent claims, QRESYNC's resynchronisation
//   mailbox_commands.cpp    LIST, LSUB, NAMESPACE, STATUS, CREATE, DELETE, RENAME, SUBSCRIBE,
//                           UNSUBSCRIBE, APPEND, GETQUOTA, GETQUOTAROOT, SETQUOTA
//   message_commands.cpp    CHECK, CLOSE, UNSELECT, EXPUNGE, SEARCH, FETCH, STORE, COPY, MOVE
//   search_contexts.cpp     searches kept up to date (RFC 5267 UPDATE), CANCELUPDATE
//
// Implementation notes
// - State (RFC 9051 §3) is a StateMachine: NotAuthenticated -> Authenticated (the user) ->
//   Selected (the user and the selected mailbox's view), every change logged. The extensions
//   a client enabled (ENABLE, RFC 5161) are options of the session, not states.
// - Commands come from the table in proto/command_parser.cpp (name, states, parser, UID
//   form); dispatch() checks the state once and visits the command, one handler per command.
// - Output is queued in the conversation (session/conversation.hpp) and written when no
//   further complete command is buffered (pipelining) or when it passes kFlushAt (a big FETCH
//   streams out in pieces). Every NO and BAD goes through it and is logged.
// - Writes go through the group committer: the tagged OK of STORE, EXPUNGE, APPEND, COPY...
//   is sent only once the change is durable.
// - Mailbox names travel as modified UTF-7 (RFC 3501 §5.1.3) until the client enables
//   UTF8=ACCEPT (RFC 9755), and are UTF-8 in the store.

#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/sasl/sasl.hpp"
#include "imapd/proto/command.hpp"
#include "imapd/proto/mailbox_view.hpp"
#include "imapd/proto/search_context.hpp"
#include "imapd/session.hpp"
#include "imapd/stored_message.hpp"
#include "session/conversation.hpp"
#include "session/state.hpp"
#include "storage/accounts.hpp"
#include "storage/group_commit.hpp"
#include "storage/mailboxes.hpp"
#include "storage/messages.hpp"

namespace mailstead::imap {

inline constexpr std::size_t kFlushAt = std::size_t{256} * 1024;
// Longest a command works before other sessions on its thread get their turn (SEARCH).
inline constexpr std::chrono::milliseconds kSearchSlice{20};
// How often a long SEARCH, SORT or THREAD reports its progress (RFC 9585 INPROGRESS).
inline constexpr std::chrono::seconds kProgressEvery{1};

// What a search matched, in UID order: sequence numbers, UIDs and MODSEQs side by side.
struct SearchMatches {
  std::vector<std::uint32_t> seqs;
  std::vector<storage::Uid> uids;
  std::vector<std::uint64_t> modseqs;
  bool report_modseq = false;  // a MODSEQ key was given: the answer carries one (RFC 7162 §3.1.5)
  SearchKey key;               // as matched: converted to UTF-8 and prepared
  SearchScope scope;
};
// RFC 5267 §4.3: a SEARCH or SORT whose result the client is kept told of (RETURN (UPDATE)),
// until CANCELUPDATE or the mailbox is no longer selected.
struct UpdateContext {
  std::string tag;
  bool uid = false;  // UID SEARCH / UID SORT: changes name UIDs, else sequence numbers
  SearchKey key;     // prepared, its sequence numbers pinned to the messages they named
  SearchScope scope;
  bool reads_flags = false;         // a flag change may move a message in or out
  bool email_id = false;            // the key asks for EMAILID
  std::vector<SortCriterion> sort;  // empty: a SEARCH, in mailbox order
  UpdatingResult result;
  std::set<storage::Uid> pending;  // messages to match again
};

// Said before the session ends because another session deleted the selected mailbox.
inline constexpr std::string_view kMailboxDeleted = "* BYE Selected mailbox was deleted, have to disconnect\r\n";

// The one mapping of the store's error codes to IMAP response codes (RFC 5530), with the
// space that follows the code.
std::string_view response_code(storage::Errc code);

// The selected mailbox as this session knows it.
struct SelectedMailbox {
  storage::Mailbox mailbox;
  bool read_only = false;
  MailboxView view;
  std::uint64_t seen_modseq = 0;  // change log position this session has applied
  // \Recent handed to this session at SELECT: [recent_from, recent_to).
  std::uint32_t recent_from = 0;
  std::uint32_t recent_to = 0;
};

// RFC 9051 §3.1-§3.3 (Logout, §3.4, reads no command: the session ends).
struct NotAuthenticated {
  static constexpr std::string_view kName = "not_authenticated";
};
struct Authenticated {
  static constexpr std::string_view kName = "authenticated";
  storage::User user;
};
struct Selected {
  static constexpr std::string_view kName = "selected";
  storage::User user;
  SelectedMailbox box;
};

// What the client turned on with ENABLE (RFC 5161), or a command that implies it.
struct Enabled {
  bool utf8 = false;       // UTF8=ACCEPT (RFC 9755)
  bool imap4rev2 = false;  // RFC 9051
  bool condstore = false;  // RFC 7162 §3.1: FETCH responses carry MODSEQ
  bool qresync = false;    // RFC 7162 §3.2.3: VANISHED instead of EXPUNGE
  bool uidonly = false;    // RFC 9586: UIDs only, in commands and in responses
};

class Session {
 public:
  Session(net::Connection& c, const ImapContext& ctx);
  ~Session();
  net::awaitable<void> run();

 private:
  // --- session.cpp: the loop, reading commands, dispatch, output ---
  net::awaitable<std::optional<std::string>> read_command();
  net::awaitable<bool> dispatch(Command command);
  net::awaitable<bool> handle(const Command& command);
  static net::awaitable<bool> finished(bool keep_going) { co_return keep_going; }
  net::Connection& connection() const { return talk_.connection(); }
  const storage::User& account() const;                                                 // Authenticated or Selected
  SelectedMailbox* selected();                                                          // nullptr unless Selected
  void tagged(const Command& command, std::string_view status, std::string_view text);  // NO is logged
  bool bad(const std::string& tag, std::string_view text);  // counted and logged; false: disconnect
  std::string capabilities() const;
  bool login_allowed() const { return connection().is_tls() || cfg_.imapd.allow_plaintext_auth; }
  net::awaitable<session::Written> commit(const char* what, storage::GroupCommitter::Work work);  // logged when failed
  // The tagged NO text for a failed write: `doing` ("Could not copy"), or the store is full.
  static std::string not_written(const session::Written& written, std::string_view doing);

  // --- connection_commands.cpp: any state (RFC 9051 §6.1, ID, ENABLE), not authenticated (§6.2) ---
  bool on_capability(const Command& command, const Capability&);
  bool on_noop(const Command& command, const Noop&);
  bool on_logout(const Command& command, const Logout&);
  bool on_id(const Command& command, const Id& id);
  bool on_enable(const Command& command, const Enable& enable);
  net::awaitable<bool> on_starttls(const Command& command, const StartTls&);
  net::awaitable<bool> on_login(const Command& command, const Login& login);
  net::awaitable<bool> on_authenticate(const Command& command, const Authenticate& auth);
  net::awaitable<bool> log_in(const Command& command, sasl::Credentials credentials);

  // --- idle_command.cpp (RFC 2177) ---
  net::awaitable<bool> on_idle(const Command& command, const Idle&);
  net::awaitable<void> idle_notifier();

  // --- session_sync.cpp ---
  void sync_changes();
  void apply_logged_changes(const storage::ReadTxn& txn, const storage::Mailbox& mailbox);
  void sync_without_log(const storage::ReadTxn& txn, const storage::Mailbox& mailbox);  // log trimmed past us
  void report_updates(bool allow_expunge, bool with_flags = true);
  // `* n FETCH (UID u FLAGS (...) MODSEQ (m))`; flags left out for a CONDSTORE STORE .SILENT.
  void append_flags_fetch(const storage::Message& message, std::uint32_t seq, bool with_uid, bool with_flags = true);
  // "* seq FETCH (", or "* uid UIDFETCH (" once UIDONLY is on (RFC 9586 §3.3).
  void append_fetch_start(std::string& out, std::uint32_t seq, storage::Uid uid) const;

  // --- search_contexts.cpp: RETURN (UPDATE) and CANCELUPDATE (RFC 5267 §4.3) ---
  bool context_tag_in_use(const std::string& tag) const;
  // After the searching command's ESEARCH: keeps `matches` (in the requested order: `order`)
  // up to date, or says NOUPDATE when this session keeps as many as it may.
  void start_updating(const Command& command, SearchMatches& matches, std::vector<storage::Uid> order,
                      std::vector<SortCriterion> sort);
  // Messages whose flags this session or another changed: matched again where that can tell.
  void flags_changed_for_contexts(const std::vector<storage::Uid>& uids);
  // Before the EXPUNGE (or VANISHED) responses: REMOVEFROM of the expunged messages, numbered
  // as they were (RFC 5267 §4.3.4).
  void report_context_expunges(const ViewUpdates& updates);
  // New and changed messages matched again, for at most kSearchSlice; ADDTO and REMOVEFROM.
  void update_contexts();
  bool contexts_pending() const;
  bool context_matches(const storage::ReadTxn& txn, const storage::Message& record, const UpdateContext& context);
  std::optional<SortKeys> context_sort_keys(const storage::ReadTxn& txn, storage::Uid uid,
                                            const std::vector<SortCriterion>& criteria);
  bool on_cancelupdate(const Command& command, const CancelUpdate& cancel);

  // --- mailbox_commands.cpp ---
  // A name as the client sends it, as stored (UTF-8); nullopt when it is not valid modified
  // UTF-7 (or, after ENABLE UTF8=ACCEPT, UTF-8). Such a name is still an astring, so it is
  // answered NO, not BAD: it names no mailbox (every stored name has a valid wire form), and
  // none can be made with it (no_such_mailbox(), cannot_name()).
  std::optional<std::string> mailbox_name(const std::string& wire) const;
  bool no_such_mailbox(const Command& command);
  bool cannot_name(const Command& command);
  std::string wire_name(std::string_view name) const;
  bool on_list(const Command& command, const List& list);
  bool on_lsub(const Command& command, const Lsub& lsub);
  bool on_namespace(const Command& command, const Namespace&);
  void append_status(const storage::ReadTxn& txn, const storage::Mailbox& mailbox,
                     const std::vector<std::string>& items);
  bool on_status(const Command& command, const Status& status);
  // QUOTA (RFC 9208): one root, "", the whole account, as `mailstead user quota` sets it.
  bool on_getquotaroot(const Command& command, const GetQuotaRoot& request);
  bool on_getquota(const Command& command, const GetQuota& request);
  bool on_setquota(const Command& command, const SetQuota&);
  bool on_getmetadata(const Command& command, const GetMetadata& request);
  net::awaitable<bool> on_setmetadata(const Command& command, const SetMetadata& request);
  std::optional<storage::MailboxId> metadata_target(const storage::ReadTxn& txn, const std::string& wire);
  void append_quota(const storage::ReadTxn& txn);  // `* QUOTA "" (...)`; nothing without limits
  net::awaitable<bool> on_create(const Command& command, const Create& create);
  net::awaitable<bool> on_delete(const Command& command, const Delete& del);
  net::awaitable<bool> on_rename(const Command& command, const Rename& rename);
  net::awaitable<bool> on_subscribe(const Command& command, const Subscribe& subscribe);
  net::awaitable<bool> on_unsubscribe(const Command& command, const Unsubscribe& unsubscribe);
  net::awaitable<bool> on_append(const Command& command, const Append& append);
  // The flags and date an APPEND or REPLACE gives a message; the text of a BAD when one is not
  // valid.
  storage::PreparedMessage prepare(const AppendMessage& message) const;
  static std::optional<std::string> read_append_options(const AppendMessage& message, storage::AppendOptions& options);
  using MailboxChange = std::function<storage::Result<void>(storage::WriteTxn&)>;
  // `ok_code`: a response code the change leaves for the tagged OK ("[MAILBOXID (F7)] ").
  net::awaitable<void> change_mailboxes(const Command& command, MailboxChange change,
                                        const std::string* ok_code = nullptr);

  // --- select_command.cpp ---
  void deselect();
  net::awaitable<bool> on_select(const Command& command, const Select& select);
  net::awaitable<bool> on_examine(const Command& command, const Examine& examine);
  net::awaitable<bool> select_mailbox(const Command& command, const Select& select);
  // A read-write IMAP4rev1 SELECT takes what no session was told of yet as its \Recent.
  net::awaitable<std::pair<std::uint32_t, std::uint32_t>> claim_recent(const storage::Mailbox& mailbox);
  bool recent_for_arrival(const storage::Mailbox& current, std::uint32_t uid);
  // SELECT (QRESYNC ...): what the client missed since its modseq (RFC 7162 §3.2.5.1).
  void append_qresync_answer(const QresyncParameters& q);
  // `* VANISHED (EARLIER) ...`: UIDs of `within` expunged after `modseq`.
  void append_vanished_earlier(std::uint64_t modseq, const std::vector<Interval>& within);

  // --- message_commands.cpp ---
  std::vector<MailboxView::Member> members(const Command& command, const SequenceSet& set, bool& invalid);
  bool on_check(const Command& command, const Check&);
  net::awaitable<bool> on_fetch(const Command& command, const Fetch& fetch);
  net::awaitable<bool> on_store(const Command& command, const Store& store);
  net::awaitable<bool> on_copy(const Command& command, const Copy& copy);
  net::awaitable<bool> on_move(const Command& command, const Move& move);
  net::awaitable<bool> on_replace(const Command& command, const Replace& replace);
  bool refuses_reused_tag(const Command& command, const SearchRequest& request);  // answered BAD
  net::awaitable<bool> on_search(const Command& command, const Search& search);
  net::awaitable<bool> on_sort(const Command& command, const Sort& sort);
  bool on_compress(const Command& command, const Compress& compress);
  bool on_unauthenticate(const Command& command, const Unauthenticate& unauthenticate);
  net::awaitable<bool> on_thread(const Command& command, const Thread& thread);
  net::awaitable<std::optional<SearchMatches>> find_matches(const Command& command, const SearchRequest& request);
  net::awaitable<std::vector<SortMessage>> sort_messages(const SearchMatches& matches, bool references);
  net::awaitable<bool> on_expunge(const Command& command, const Expunge& expunge);
  net::awaitable<bool> on_close(const Command& command, const Close&);
  bool on_unselect(const Command& command, const Unselect&);
  net::awaitable<std::vector<storage::Uid>> expunge(const std::vector<storage::Uid>& only);

  session::Conversation talk_;
  const ImapContext& ctx_;
  const config::Config& cfg_;
  session::StateMachine<NotAuthenticated, Authenticated, Selected> state_;
  Enabled enabled_;
  bool mailbox_deleted_ = false;            // by another session, while selected here: the session ends
  bool compress_next_ = false;              // COMPRESS answered OK: compress once that is written
  std::vector<storage::Uid> saved_search_;  // SEARCHRES "$"
  std::vector<UpdateContext> contexts_;     // RETURN (UPDATE), while a mailbox is selected
  std::set<std::uint64_t> own_modseqs_;     // this session's flag changes: not echoed back
  std::shared_ptr<Doorbell> bell_;
  // IDLE: the notifier coroutine runs beside the read of DONE.
  bool idling_ = false;
  bool notifier_running_ = false;
  std::optional<net::asio::steady_timer> notifier_done_;
};

}  // namespace mailstead::imap
