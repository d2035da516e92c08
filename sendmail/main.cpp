// mailstead-sendmail, installed as /usr/sbin/sendmail: hands mail from programs on this machine
// (cron, mdadm, logwatch, PHP's mail(), mutt) to mailstead-smtpd over its local socket
// (smtpd.local_socket), speaking SMTP. The daemon trusts that socket as it trusts an
// authenticated user and records the caller's uid in Received:. Nothing is queued here: when
// smtpd is not running the mail is refused with EX_TEMPFAIL, and the caller sees it.
//
// usage: sendmail [-t] [-i] [-f SENDER] [-F NAME] [-C CONFIG] [-bs] [RECIPIENT...]
// Exit codes follow sysexits.h, as callers of sendmail expect.

#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>

#include "common/config/config.hpp"
#include "sendmail/submission.hpp"
#include "smtpd/proto/reply.hpp"

using namespace mailstead;

namespace {

constexpr int kUsage = 64;        // EX_USAGE
constexpr int kNoUser = 67;       // EX_NOUSER: a recipient was refused
constexpr int kUnavailable = 69;  // EX_UNAVAILABLE: the message was refused
constexpr int kTempFail = 75;     // EX_TEMPFAIL: try again later
constexpr int kConfig = 78;       // EX_CONFIG
constexpr std::string_view kDefaultSocket = "/run/mailstead/submit.sock";

[[noreturn]] void die(int status, const std::string& text) {
  (void)std::fprintf(stderr, "sendmail: %s\n", text.c_str());
  std::exit(status);
}

std::string socket_path(const sendmail::Options& options) {
  if (const char* env = std::getenv("MAILSTEAD_SENDMAIL_SOCKET"); env && *env) return env;
  auto path = options.config.value_or(std::string(config::kDefaultConfigPath));
  auto loaded = config::load_config_file(path);
  if (loaded.config) return loaded.config->smtpd.local_socket.string();
  // The config may be unreadable for this user (it names private files); the default socket
  // is where a packaged install has it. A config named with -C must work, though.
  if (options.config) {
    for (const auto& e : loaded.errors) (void)std::fprintf(stderr, "%s\n", e.to_string().c_str());
    die(kConfig, "cannot use " + path);
  }
  return std::string(kDefaultSocket);
}

int connect_local(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) die(kConfig, "socket path too long: " + path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0)
    die(kTempFail, "cannot reach mailstead-smtpd at " + path + ": " + std::strerror(errno) + " (is it running?)");
  timeval timeout{300, 0};  // a stuck daemon must not hang cron forever
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  return fd;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// One SMTP conversation over a connected socket, blocking.
class Client {
 public:
  explicit Client(int fd) : fd_(fd) {}

  smtp::Reply reply() {
    smtp::ReplyAssembler assembler;
    for (;;) {
      auto end = buffer_.find("\r\n");
      if (end == std::string::npos) {
        char chunk[4096];
        auto n = ::recv(fd_, chunk, sizeof(chunk), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) die(kTempFail, "mailstead-smtpd closed the connection");
        buffer_.append(chunk, static_cast<std::size_t>(n));
        continue;
      }
      auto line = buffer_.substr(0, end);
      buffer_.erase(0, end + 2);
      auto status = assembler.add(line);
      if (status == smtp::ReplyAssembler::Status::malformed) die(kTempFail, "malformed reply: " + line);
      if (status == smtp::ReplyAssembler::Status::done) return assembler.take();
    }
  }

  smtp::Reply command(const std::string& line) {
    send(line + "\r\n");
    return reply();
  }

  void send(std::string_view data) {  // NOLINT(readability-make-member-function-const): writes the socket
    if (!write_all(fd_, data)) die(kTempFail, std::string("cannot write to mailstead-smtpd: ") + std::strerror(errno));
  }

 private:
  int fd_;
  std::string buffer_;
};

std::string login_name() {
  if (const passwd* pw = ::getpwuid(::getuid())) return pw->pw_name;
  return "uid" + std::to_string(::getuid());
}

// -bs: the caller speaks SMTP itself; carry bytes both ways until smtpd closes.
int relay_stdio(int fd) {
  pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {fd, POLLIN, 0}};
  bool input_open = true;
  char chunk[16384];
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return kTempFail;
    }
    if (input_open && (fds[0].revents & (POLLIN | POLLHUP))) {
      auto n = ::read(STDIN_FILENO, chunk, sizeof(chunk));
      if (n <= 0) {
        input_open = false;
        fds[0].fd = -1;
        ::shutdown(fd, SHUT_WR);
      } else if (!write_all(fd, std::string_view(chunk, static_cast<std::size_t>(n)))) {
        return kTempFail;
      }
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      auto n = ::recv(fd, chunk, sizeof(chunk), 0);
      if (n <= 0) return 0;
      for (std::size_t done = 0; done < static_cast<std::size_t>(n);) {
        auto w = ::write(STDOUT_FILENO, chunk + done, static_cast<std::size_t>(n) - done);
        if (w <= 0) return kTempFail;
        done += static_cast<std::size_t>(w);
      }
    }
  }
}

int deliver(int fd, const sendmail::Options& options) {
  Client client(fd);
  auto greeting = client.reply();
  if (greeting.code != 220) die(kTempFail, "mailstead-smtpd refused the connection: " + greeting.one_line());
  // "220 mail.example.com ESMTP mailstead": the name that qualifies bare user names.
  std::string text = greeting.lines.empty() ? "" : greeting.lines[0];
  std::string domain = text.substr(0, text.find(' '));
  if (domain.empty()) domain = "localhost";
  if (auto r = client.command("EHLO localhost"); r.code != 250) die(kTempFail, "EHLO: " + r.one_line());

  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  std::string sender;
  if (!options.sender)
    sender = sendmail::qualify(login_name(), domain);
  else if (*options.sender != "<>")
    sender = sendmail::qualify(*options.sender, domain);
  auto prepared = sendmail::prepare_message(input, options, sender);
  std::vector<std::string> recipients;
  for (const auto& r : prepared.recipients) recipients.push_back(sendmail::qualify(r, domain));
  if (recipients.empty()) die(kUsage, "no recipients in the message (-t found no To:, Cc: or Bcc:)");

  bool utf8 = sendmail::needs_smtputf8(sender);
  for (const auto& r : recipients) utf8 = utf8 || sendmail::needs_smtputf8(r);
  std::string mail = "MAIL FROM:<" + sender + ">";
  if (prepared.eight_bit || utf8) mail += " BODY=8BITMIME";
  if (utf8) mail += " SMTPUTF8";
  if (auto r = client.command(mail); !r.positive())
    die(r.permanent() ? kUnavailable : kTempFail, "sender <" + sender + ">: " + r.one_line());

  int status = 0;
  std::size_t accepted = 0;
  for (const auto& r : recipients) {
    auto reply = client.command("RCPT TO:<" + r + ">");
    if (reply.positive()) {
      ++accepted;
      continue;
    }
    (void)std::fprintf(stderr, "sendmail: <%s>: %s\n", r.c_str(), reply.one_line().c_str());
    if (status != kTempFail) status = reply.permanent() ? kNoUser : kTempFail;
  }
  if (accepted == 0) {
    client.command("QUIT");
    return status;
  }
  if (auto r = client.command("DATA"); r.code != 354)
    die(r.permanent() ? kUnavailable : kTempFail, "DATA: " + r.one_line());
  client.send(prepared.data);
  auto done = client.reply();
  if (!done.positive()) die(done.permanent() ? kUnavailable : kTempFail, "message refused: " + done.one_line());
  client.command("QUIT");
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  for (auto a : args)
    if (a == "--help") {
      std::printf(
          "usage: sendmail [-t] [-i] [-f SENDER] [-F NAME] [-C CONFIG] [-bs] [RECIPIENT...]\n"
          "Hands a message on standard input to mailstead-smtpd for delivery.\n"
          "  -t         also send to the To:, Cc: and Bcc: addresses of the message (Bcc: is removed)\n"
          "  -i, -oi    a line with a single dot does not end the message\n"
          "  -f SENDER  envelope sender (default: your login name at the server's host name)\n"
          "  -F NAME    your full name, for a From: the message lacks\n"
          "  -bs        speak SMTP on standard input and output\n"
          "  -C CONFIG  mailstead.toml that names smtpd.local_socket (default %s)\n",
          std::string(config::kDefaultConfigPath).c_str());
      return 0;
    }
  auto parsed = sendmail::parse_options(args);
  if (auto* e = std::get_if<sendmail::UsageError>(&parsed)) die(kUsage, e->text + " (sendmail --help)");
  const auto& options = std::get<sendmail::Options>(parsed);
  int fd = connect_local(socket_path(options));
  int status = options.mode == sendmail::Mode::smtp_on_stdio ? relay_stdio(fd) : deliver(fd, options);
  ::close(fd);
  return status;
}
