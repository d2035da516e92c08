#include "smtpd/outbound/resolver.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <fmt/format.h>
#include <netdb.h>

#include <algorithm>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <map>
#include <mutex>
#include <stdexcept>

#include "common/text/idn.hpp"

namespace mailstead::outbound {
namespace {

namespace asio = net::asio;

DnsStatus status_of(int code) {
  switch (code) {
    case ARES_SUCCESS:
      return DnsStatus::ok;
    case ARES_ENODATA:
      return DnsStatus::no_data;
    case ARES_ENOTFOUND:
    case ARES_ENONAME:
      return DnsStatus::nxdomain;
    default:
      return DnsStatus::temporary;  // SERVFAIL, refused, timeout, connection errors
  }
}

void init_library() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (int rc = ares_library_init(ARES_LIB_INIT_ALL); rc != ARES_SUCCESS)
      throw std::runtime_error(fmt::format("c-ares: {}", ares_strerror(rc)));
  });
}

// Where a query's result lands; the coroutine waits on `wake` until `done`.
template <typename Answer>
struct Pending {
  explicit Pending(const asio::any_io_executor& ex) : wake(ex) {
    wake.expires_at(asio::steady_timer::time_point::max());
  }
  asio::steady_timer wake;
  bool done = false;
  Answer answer;
  void finish() {
    done = true;
    wake.cancel();
  }
};

}  // namespace

// c-ares 1.18 (Debian 12) was seen answering ares_timeout() with "due now" hundreds of
// thousands of times in a row after a burst of a hundred lookups, so that processing its
// timeouts became a busy loop. Hence: the timer never fires more often than kMinTimerStep,
// every lookup gives up by itself after a deadline of its own (a lost answer cannot hold a
// delivery), and once nobody waits any more, whatever c-ares still holds is cancelled.
constexpr std::chrono::milliseconds kMinTimerStep{5};

struct Resolver::Impl : std::enable_shared_from_this<Impl> {
  asio::any_io_executor executor;
  ares_channel channel = nullptr;
  asio::steady_timer timer;
  std::map<ares_socket_t, std::unique_ptr<asio::posix::stream_descriptor>> watched;
  bool stopped = false;  // after cancel(): no more waits, so the io_context can run dry
  std::chrono::milliseconds give_up_after{};
  std::size_t waiting = 0;  // lookups whose callers still wait for an answer

  explicit Impl(const asio::any_io_executor& ex) : executor(ex), timer(ex) {}

  // The caller's side of a lookup: its answer, or a temporary failure after give_up_after.
  template <typename Answer>
  net::awaitable<Answer> await(std::shared_ptr<Pending<Answer>> pending) {
    ++waiting;
    pending->wake.expires_after(give_up_after);
    while (!pending->done) {
      auto [ec] = co_await pending->wake.async_wait(net::use_tuple);
      if (!ec && !pending->done) {  // the deadline, not an answer
        pending->answer = Answer{};
        pending->answer.status = DnsStatus::temporary;
        pending->answer.error = "no answer from the DNS servers in time";
        break;
      }
    }
    Answer answer = std::move(pending->answer);
    if (--waiting == 0) drop_abandoned();
    co_return answer;
  }

  void drop_abandoned() {  // NOLINT(readability-make-member-function-const): changes c-ares's channel
    if (stopped || !channel) return;
    timeval tv{};
    if (ares_timeout(channel, nullptr, &tv)) ares_cancel(channel);  // their callbacks find no waiter
  }

  ~Impl() {
    for (auto& [fd, d] : watched) (void)d->release();  // c-ares owns and closes its sockets
    if (channel) ares_destroy(channel);
  }

  static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
    auto* self = static_cast<Impl*>(data);
    if (!readable && !writable) {
      if (auto it = self->watched.find(fd); it != self->watched.end()) {
        (void)it->second->release();
        self->watched.erase(it);
      }
      return;
    }
    if (self->stopped) return;
    auto& d = self->watched[fd];
    if (!d) {
      d = std::make_unique<asio::posix::stream_descriptor>(self->executor, fd);
      self->watch(fd);
    }
  }

  void watch(ares_socket_t fd) {
    auto it = watched.find(fd);
    if (it == watched.end()) return;
    std::weak_ptr<Impl> weak = shared_from_this();
    it->second->async_wait(asio::posix::descriptor_base::wait_read, [weak, fd](boost::system::error_code ec) {
      auto self = weak.lock();
      if (!self || ec) return;
      if (self->stopped) return;
      ares_process_fd(self->channel, fd, ARES_SOCKET_BAD);
      self->watch(fd);  // still wanted unless c-ares said otherwise meanwhile
      self->arm_timer();
    });
  }

  // c-ares' own deadlines (retransmission, giving up) run from one timer.
  void arm_timer() {
    if (stopped) return;
    timeval max{5, 0};
    timeval tv{};
    if (!ares_timeout(channel, &max, &tv)) return;
    timer.expires_after(std::max<std::chrono::steady_clock::duration>(
        std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec), kMinTimerStep));
    std::weak_ptr<Impl> weak = shared_from_this();
    timer.async_wait([weak](boost::system::error_code ec) {
      auto self = weak.lock();
      if (!self || ec) return;
      ares_process_fd(self->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      self->arm_timer();
    });
  }
};

Resolver::Resolver(const asio::any_io_executor& executor, const std::vector<std::string>& servers,
                   std::chrono::milliseconds timeout)
    : impl_(std::make_shared<Impl>(executor)) {
  init_library();
  ares_options options{};
  options.sock_state_cb = &Impl::on_socket_state;
  options.sock_state_cb_data = impl_.get();
  options.flags = ARES_FLAG_NOSEARCH;  // mail domains are absolute: no search list, no ndots games
  options.timeout = static_cast<int>(timeout.count());
  options.tries = 2;
  impl_->give_up_after = timeout * (options.tries + 1) + std::chrono::seconds(1);
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  if (int rc = ares_init_options(&impl_->channel, &options, mask); rc != ARES_SUCCESS)
    throw std::runtime_error(fmt::format("c-ares: {}", ares_strerror(rc)));
  if (!servers.empty()) {
    std::string csv;
    for (const auto& s : servers) csv += (csv.empty() ? "" : ",") + s;
    if (int rc = ares_set_servers_ports_csv(impl_->channel, csv.c_str()); rc != ARES_SUCCESS)
      throw std::runtime_error(fmt::format("c-ares: resolver servers \"{}\": {}", csv, ares_strerror(rc)));
  }
}

Resolver::~Resolver() {
  cancel();
}

void Resolver::cancel() {
  impl_->stopped = true;
  if (impl_->channel) ares_cancel(impl_->channel);
  impl_->timer.cancel();
  for (auto& [fd, d] : impl_->watched) {
    net::error_code ignored;
    d->cancel(ignored);
    (void)d->release();  // c-ares closes its own sockets
  }
  impl_->watched.clear();
}

net::awaitable<MxAnswer> Resolver::mx(std::string domain) {
  auto ascii = text::domain_to_ascii(domain);  // DNS knows IDNs by their A-labels
  if (!ascii) {
    MxAnswer invalid{DnsStatus::nxdomain, {}, "not a valid internationalised domain name"};
    co_return invalid;
  }
  domain = std::move(*ascii);
  auto pending = std::make_shared<Pending<MxAnswer>>(impl_->executor);
  struct Call {
    std::shared_ptr<Pending<MxAnswer>> pending;
  };
  auto* call = new Call{pending};
  ares_query(
      impl_->channel, domain.c_str(), ns_c_in, ns_t_mx,
      [](void* arg, int status, int, unsigned char* buffer, int length) {
        std::unique_ptr<Call> c(static_cast<Call*>(arg));
        auto& answer = c->pending->answer;
        answer.status = status_of(status);
        if (status == ARES_SUCCESS) {
          ares_mx_reply* replies = nullptr;
          int rc = ares_parse_mx_reply(buffer, length, &replies);
          if (rc == ARES_SUCCESS) {
            for (auto* r = replies; r; r = r->next) {
              std::string host = r->host ? r->host : "";
              if (host == ".") host.clear();
              if (host.ends_with('.')) host.pop_back();
              answer.records.push_back({r->priority, host});
            }
            ares_free_data(replies);
          }
          if (rc == ARES_ENODATA || (rc == ARES_SUCCESS && answer.records.empty())) {
            answer.status = DnsStatus::no_data;
          } else if (rc != ARES_SUCCESS) {
            answer.status = DnsStatus::temporary;
            answer.error = ares_strerror(rc);
          }
        } else {
          answer.error = ares_strerror(status);
        }
        c->pending->finish();
      },
      call);
  impl_->arm_timer();
  auto answer = co_await impl_->await(pending);
  co_return answer;
}

net::awaitable<AddressAnswer> Resolver::addresses(std::string host) {
  auto ascii = text::domain_to_ascii(host);
  if (!ascii) {
    AddressAnswer invalid{DnsStatus::nxdomain, {}, "not a valid internationalised domain name"};
    co_return invalid;
  }
  host = std::move(*ascii);
  auto pending = std::make_shared<Pending<AddressAnswer>>(impl_->executor);
  struct Call {
    std::shared_ptr<Pending<AddressAnswer>> pending;
  };
  auto* call = new Call{pending};
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_flags = ARES_AI_NOSORT;
  ares_getaddrinfo(
      impl_->channel, host.c_str(), nullptr, &hints,
      [](void* arg, int status, int, ares_addrinfo* result) {
        std::unique_ptr<Call> c(static_cast<Call*>(arg));
        auto& answer = c->pending->answer;
        answer.status = status_of(status);
        if (status != ARES_SUCCESS) answer.error = ares_strerror(status);
        std::vector<asio::ip::address> v4;
        for (auto* node = result ? result->nodes : nullptr; node; node = node->ai_next) {
          if (node->ai_family == AF_INET6) {
            asio::ip::address_v6::bytes_type bytes;
            std::memcpy(bytes.data(), &reinterpret_cast<sockaddr_in6*>(node->ai_addr)->sin6_addr, 16);
            answer.addresses.emplace_back(asio::ip::address_v6(bytes));
          } else if (node->ai_family == AF_INET) {
            asio::ip::address_v4::bytes_type bytes;
            std::memcpy(bytes.data(), &reinterpret_cast<sockaddr_in*>(node->ai_addr)->sin_addr, 4);
            v4.emplace_back(asio::ip::address_v4(bytes));
          }
        }
        answer.addresses.insert(answer.addresses.end(), v4.begin(), v4.end());
        if (status == ARES_SUCCESS && answer.addresses.empty()) answer.status = DnsStatus::no_data;
        if (result) ares_freeaddrinfo(result);
        c->pending->finish();
      },
      call);
  impl_->arm_timer();
  auto answer = co_await impl_->await(pending);
  co_return answer;
}

}  // namespace mailstead::outbound
