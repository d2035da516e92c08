#pragma once
// The one configuration of the suite: a TOML file read by every daemon and by `mailstead`.
//
// Contract: load_config() either returns a Config in which every value has been validated
// (types, ranges, files that must exist, listeners that must not collide), or every error it
// found, each naming the file, line, column and key. A daemon refuses to start on any error.
// Keys absent from the file take the defaults of the schema (schema.hpp), which is also what
// `mailstead config sample` prints and what etc/mailstead.toml is checked against.
// Relative paths are resolved against the directory of the config file.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/units.hpp"
#include "common/mime/limits.hpp"

namespace mailstead::config {

enum class LogLevel { debug, info, warn, error };
enum class TlsVersion { tls1_2, tls1_3 };

struct ServerConfig {
  std::string hostname;            // announced in greetings and trace headers
  std::string user;                // drop to this user after binding ports; empty: stay
  std::string group;               // drop to this group; empty: the user's primary group
  std::filesystem::path data_dir;  // the storage environment lives here
  unsigned threads = 1;            // event-loop threads per daemon
};

struct LogConfig {
  LogLevel level = LogLevel::info;
};

struct TlsConfig {
  std::filesystem::path certificate;  // PEM chain, leaf first
  std::filesystem::path private_key;  // PEM
  TlsVersion min_version = TlsVersion::tls1_2;
  std::string ciphers;  // OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are OpenSSL's)
};

struct LimitsConfig {
  unsigned max_connections_per_ip = 0;      // 0: unlimited
  unsigned max_connections = 0;             // per daemon; 0: unlimited
  unsigned max_connection_rate_per_ip = 0;  // new connections per client per minute; 0: unlimited
  std::chrono::seconds shutdown_grace{};
  std::chrono::seconds tls_handshake_timeout{};
  mime::Limits message;  // what parsing one stored message may cost (SMTP, APPEND, import)
};

struct AuthConfig {
  unsigned hash_threads = 1;             // threads that run password hashing, off the event loop
  std::chrono::seconds failure_delay{};  // after the first failed login; doubles each time
  std::chrono::seconds failure_delay_max{};
  unsigned lockout_failures = 0;  // failures within lockout_window that lock; 0: never
  std::chrono::seconds lockout_window{};
  std::chrono::seconds lockout_duration{};
};

struct StorageConfig {
  std::uint64_t map_size = 0;      // initial LMDB map size; doubled when full
  std::uint64_t max_map_size = 0;  // 0: limited by the disk only
  char hierarchy_separator = '/';
  std::string plus_separator;  // empty: plus-addressing off
  bool case_sensitive_local_parts = false;
  std::chrono::seconds change_log_retention{0};  // trimmed by smtpd's store maintenance
};

// A DNS list of client addresses: "zone" or "zone*weight" in the file.
struct DnsList {
  std::string zone;
  int weight = 1;  // negative for an allow list
};
std::optional<DnsList> parse_dns_list(std::string_view text);

// Where a content filter (milter) listens: "inet:host:port" (or "host:port"), or
// "unix:/path", as Postfix's smtpd_milters writes it.
struct MilterAddress {
  std::string host;  // empty for a Unix-domain socket
  unsigned port = 0;
  std::string path;
  std::string to_string() const;
};
std::optional<MilterAddress> parse_milter_address(std::string_view text);

struct SmtpdConfig {
  std::vector<Endpoint> listen;              // port 25: MX traffic, STARTTLS offered
  std::vector<Endpoint> submission_listen;   // port 587: STARTTLS + AUTH
  std::vector<Endpoint> submissions_listen;  // port 465: implicit TLS
  std::filesystem::path local_socket;        // local submission (sendmail), trusted
  std::uint64_t max_message_size = 0;
  unsigned max_recipients = 0;
  unsigned max_line_length = 0;
  unsigned max_errors = 0;
  unsigned max_junk_commands = 0;  // NOOP, RSET, VRFY, HELP without a message accepted
  unsigned max_received_headers = 0;
  std::chrono::seconds command_timeout{};
  std::chrono::seconds data_timeout{};
  std::vector<std::string> trusted_networks;  // CIDR; may relay without AUTH
  std::chrono::seconds greeting_delay{};      // port 25: a client that talks first is refused
  std::vector<DnsList> dns_lists;             // DNSBL/DNSWL of client addresses (RFC 5782)
  unsigned dns_list_threshold = 1;            // refused at this score and above
  bool allow_plaintext_auth = false;          // AUTH before TLS (testing only)
  bool received_shows_user = false;           // the authenticated user in Received:
  unsigned max_messages_per_hour = 0;         // per user, to other domains; 0: no limit
  unsigned max_messages_per_day = 0;
  unsigned max_recipients_per_hour = 0;  // per user, to other domains; 0: no limit
  unsigned max_recipients_per_day = 0;
  bool hold_over_limit = true;      // true: queue for later; false: 451 4.7.1
  std::chrono::seconds max_hold{};  // held longer than this: refused instead
};

struct Pop3dConfig {
  std::vector<Endpoint> listen;         // port 110, STLS
  std::vector<Endpoint> tls_listen;     // port 995, implicit TLS
  std::chrono::seconds idle_timeout{};  // autologout (RFC 1939 §3: at least 10 minutes)
  unsigned max_errors = 0;
  unsigned max_line_length = 0;            // a command line, CRLF included
  bool allow_plaintext_auth = false;       // USER/PASS and AUTH before STLS
  bool allow_concurrent_sessions = false;  // a second session on one maildrop instead of [IN-USE]
};

enum class RelayTls { starttls, implicit };

// DKIM signing of mail that local users and trusted clients send (RFC 6376; keys are in the
// store: `mailstead dkim`).
struct DkimConfig {
  bool sign = true;
  std::vector<std::string> headers;    // signed as often as they occur
  std::vector<std::string> oversign;   // signed once more than they occur
  std::chrono::seconds expire{};       // x= after t=; 0: none
  bool verify = true;                  // check the signatures of mail from other servers
  unsigned verify_max_signatures = 0;  // per message; further ones are not checked
};

// DNS lookups of mailstead-smtpd: MX and addresses for the queue, and the checks of inbound
// mail. One cache per process, shared by every lookup.
struct DnsConfig {
  std::vector<Endpoint> servers;   // empty: the system's (/etc/resolv.conf)
  std::chrono::seconds timeout{};  // one try at one server; c-ares tries twice more
  unsigned cache_entries = 0;      // answers kept at most; 0: none
  std::chrono::seconds max_ttl{};  // no answer kept longer, whatever its TTL
};

// Content filters speaking the Sendmail milter protocol (rspamd, spamass-milter, clamav-milter).
enum class MilterFailure { tempfail, accept };
struct MilterConfig {
  std::vector<MilterAddress> servers;  // in order; empty: none
  bool users = true;                   // mail from users and trusted networks passes them too
  MilterFailure on_failure = MilterFailure::tempfail;
  std::chrono::seconds connect_timeout{};
  std::chrono::seconds command_timeout{};
  std::chrono::seconds content_timeout{};
  std::vector<std::string> junk_headers;  // "X-Spam: Yes": a filter that adds one files the mail as junk
};

// The Sender Rewriting Scheme for mail that aliases forward to other domains.
struct SrsConfig {
  bool enabled = true;
  std::chrono::seconds max_age{};  // a bounce address older than this is refused
};

// Greylisting (RFC 6647) of mail from other servers, off by default.
struct GreylistConfig {
  bool enabled = false;
  std::chrono::seconds delay{};      // before a retry is let through
  std::chrono::seconds max_retry{};  // a triplet not retried by then is forgotten
  std::chrono::seconds allow_for{};  // a network that got mail through is not greylisted again
  unsigned max_entries = 0;
};

// SPF (RFC 7208) of mail from other servers.
enum class SpfFail { mark, reject };
struct SpfConfig {
  bool check = true;
  SpfFail on_fail = SpfFail::mark;      // reject: 550 5.7.23 at MAIL FROM
  std::chrono::seconds max_time{};      // one check, all its lookups
  unsigned max_checks_per_session = 0;  // distinct senders checked in one SMTP session
};

// DMARC (RFC 7489) of mail from other servers.
struct DmarcConfig {
  bool check = true;
  bool apply_policy = true;  // reject: 550 5.7.1 at the end of DATA; quarantine: into Junk
};

// Sending to other domains (mailstead-smtpd's queue runner).
struct OutboundConfig {
  unsigned port = 25;  // the port of remote MX hosts (tests only)
  bool require_tls = false;
  bool verify_certificates = false;
  bool relay_verify_certificate = true;
  std::vector<std::string> allowed_destinations;  // CIDR; exempt from the destination policy
  std::chrono::seconds max_attempt_time{};        // one connection's setup, or one message
  std::optional<Endpoint> relay;                  // smarthost: everything goes through it
  RelayTls relay_tls = RelayTls::starttls;
  std::string relay_user;
  std::string relay_password_file;  // first line is the password
  std::chrono::seconds retry_first{};
  std::chrono::seconds retry_max{};
  std::chrono::seconds max_age{};
  std::chrono::seconds delay_notice{};  // 0: never tell senders their mail is late
  unsigned max_deliveries = 0;          // sessions at once
  unsigned max_per_domain = 0;          // sessions at once to one domain
};

struct ImapdConfig {
  std::vector<Endpoint> listen;         // port 143, STARTTLS
  std::vector<Endpoint> tls_listen;     // port 993, implicit TLS
  std::chrono::seconds idle_timeout{};  // autologout (RFC 9051 §5.4: at least 30 minutes)
  unsigned max_errors = 0;
  unsigned max_line_length = 0;            // a command line after login, CRLF included
  unsigned max_preauth_length = 0;         // a line or a literal before login
  bool allow_plaintext_auth = false;       // LOGIN and AUTHENTICATE before STARTTLS
  std::uint64_t max_message_size = 0;      // APPEND literal limit (APPENDLIMIT)
  std::chrono::seconds max_search_time{};  // one SEARCH's matching, all its slices together
  unsigned max_search_text_keys = 0;       // header, BODY and TEXT keys in one SEARCH
  unsigned max_update_contexts = 0;        // RETURN (UPDATE) searches one session keeps (RFC 5267)
  bool text_index = true;                  // keep and use each mailbox's text index
  unsigned max_metadata_entries = 0;       // METADATA entries one user holds (RFC 5464)
  std::uint64_t max_metadata_size = 0;     // one METADATA value
};

struct Config {
  std::filesystem::path source;  // the file it was read from
  ServerConfig server;
  LogConfig log;
  TlsConfig tls;
  LimitsConfig limits;
  AuthConfig auth;
  StorageConfig storage;
  SmtpdConfig smtpd;
  DnsConfig dns;
  OutboundConfig outbound;
  DkimConfig dkim;
  SpfConfig spf;
  DmarcConfig dmarc;
  MilterConfig milter;
  GreylistConfig greylist;
  SrsConfig srs;
  Pop3dConfig pop3d;
  ImapdConfig imapd;
};

struct ConfigError {
  std::string file;
  unsigned line = 0;  // 0: the key is not in the file (its default is at fault)
  unsigned column = 0;
  std::string key;  // "section.key", or empty for a syntax error
  std::string message;

  std::string to_string() const;  // "file:line:column: key: message"
};

struct LoadResult {
  std::optional<Config> config;     // set exactly when errors is empty
  std::vector<ConfigError> errors;  // in file order
};

inline constexpr std::string_view kDefaultConfigPath = "/etc/mailstead/mailstead.toml";

LoadResult load_config_file(const std::filesystem::path& path);

// For tests and `config check` of text not on disk: `origin` names it in errors and
// `base_dir` resolves relative paths.
LoadResult load_config_text(std::string_view text, std::string_view origin, const std::filesystem::path& base_dir);

std::string_view to_string(LogLevel level);

}  // namespace mailstead::config
