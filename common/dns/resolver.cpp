#include "common/dns/resolver.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <fmt/format.h>
#include <netdb.h>

#include <algorithm>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <map>
#include <mutex>
#include <stdexcept>

#include "common/text/ascii.hpp"
#include "common/text/idn.hpp"

namespace mailstead::dns {
namespace {

namespace asio = net::asio;

// What c-ares' status says when it hands over no response to read.
Status status_of(int code) {
  switch (code) {
    case ARES_ENODATA:
      return Status::no_data;
    case ARES_ENOTFOUND:
    case ARES_ENONAME:
      return Status::nxdomain;
    default:
      return Status::temporary;  // SERVFAIL, refused, timeout, connection errors
  }
}

// What c-ares got back for one question: a response to read, or its status alone.
struct Raw {
  int status = ARES_ETIMEOUT;
  std::string packet;
  std::string error;
};

// The name as asked on the wire: lower case, without a final dot, IDNs as A-labels. Names of
// the checks (_dmarc.example.com, selector._domainkey.example.com, reversed addresses) are
// ASCII and go as they are: IDNA would refuse their underscores. nullopt: no valid name.
std::optional<std::string> wire_name(std::string_view name) {
  if (name.ends_with('.')) name.remove_suffix(1);
  std::string ascii;
  if (text::is_idn(name)) {
    auto converted = text::domain_to_ascii(name);
    if (!converted) return std::nullopt;
    ascii = std::move(*converted);
  } else {
    ascii = text::lower_ascii(name);
  }
  if (!valid_query_name(ascii)) return std::nullopt;
  return ascii;
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

  // Sends one question; the answer lands in the returned Pending.
  std::shared_ptr<Pending<Raw>> start(const std::string& name, Type type) {
    auto pending = std::make_shared<Pending<Raw>>(executor);
    if (stopped) {  // shutting down: nothing is asked any more
      pending->answer.status = ARES_ECANCELLED;
      pending->answer.error = "shutting down";
      pending->finish();
      return pending;
    }
    auto* held = new std::shared_ptr<Pending<Raw>>(pending);
    ares_query(
        channel, name.c_str(), ns_c_in, static_cast<int>(type),
        [](void* arg, int status, int, unsigned char* buffer, int length) {
          std::unique_ptr<std::shared_ptr<Pending<Raw>>> p(static_cast<std::shared_ptr<Pending<Raw>>*>(arg));
          auto& raw = (*p)->answer;
          raw.status = status;
          // c-ares hands over the response for NXDOMAIN and NODATA as well: its SOA says for
          // how long the negative answer holds.
          if (buffer != nullptr && length > 0)
            raw.packet.assign(reinterpret_cast<const char*>(buffer), static_cast<std::size_t>(length));
          else
            raw.error = ares_strerror(status);
          (*p)->finish();
        },
        held);
    arm_timer();
    return pending;
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

std::vector<std::string> server_list(const std::vector<config::Endpoint>& servers) {
  std::vector<std::string> out;
  for (const auto& e : servers)
    out.push_back(e.host.find(':') != std::string::npos ? fmt::format("[{}]:{}", e.host, e.port)
                                                        : fmt::format("{}:{}", e.host, e.port));
  return out;
}

Resolver::Resolver(const asio::any_io_executor& executor, const std::vector<std::string>& servers,
                   std::chrono::milliseconds timeout, std::shared_ptr<Cache> cache)
    : impl_(std::make_shared<Impl>(executor)), cache_(std::move(cache)) {
  init_library();
  ares_options options{};
  options.sock_state_cb = &Impl::on_socket_state;
  options.sock_state_cb_data = impl_.get();
  // Mail domains are absolute: no search list, no ndots games. EDNS0 with 1232-byte UDP answers
  // (the DNS flag day 2020 size): a 2048-bit DKIM key's TXT record fits without falling back
  // to TCP.
  options.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_EDNS;
  options.ednspsz = 1232;
  options.timeout = static_cast<int>(timeout.count());
  options.tries = 2;
  impl_->give_up_after = timeout * (options.tries + 1) + std::chrono::seconds(1);
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_EDNSPSZ;
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

net::awaitable<Answer> Resolver::query(std::string name, Type type) {
  auto asked = wire_name(name);
  if (!asked) {
    Answer invalid{Status::nxdomain, {}, "not a valid domain name"};
    co_return invalid;
  }
  if (cache_)
    if (auto hit = cache_->find(*asked, type)) co_return std::move(*hit);
  std::string current = *asked;
  std::uint32_t ttl = UINT32_MAX;
  for (unsigned hops = 0; hops <= kMaxCnames; ++hops) {
    auto pending = impl_->start(current, type);
    auto raw = co_await impl_->await(pending);
    Reading reading;
    if (raw.packet.empty()) {
      reading.answer.status = status_of(raw.status);
      reading.answer.error = raw.error.empty() ? ares_strerror(raw.status) : raw.error;
    } else if (auto response = parse_response(raw.packet)) {
      reading = read_answer(*response, current, type, kMaxCnames - hops);
    } else {
      reading.answer.error = "malformed answer";
    }
    ttl = std::min(ttl, reading.ttl);
    if (reading.next.empty()) {
      if (cache_) cache_->store(*asked, type, reading.answer, ttl);
      co_return std::move(reading.answer);
    }
    current = std::move(reading.next);
  }
  Answer looped{Status::temporary, {}, "too many CNAMEs"};
  co_return looped;
}

net::awaitable<MxAnswer> Resolver::mx(std::string domain) {
  auto answer = co_await query(std::move(domain), Type::mx);
  MxAnswer out{answer.status, {}, std::move(answer.error)};
  for (auto& r : answer.records) out.records.push_back({r.preference, std::move(r.data)});
  co_return out;
}

net::awaitable<AddressAnswer> Resolver::addresses(std::string host) {
  // AAAA in a coroutine of its own beside A, so that the two questions are out at once; this
  // one waits for it before returning, so it never outlives the call.
  auto v6 = std::make_shared<Pending<Answer>>(impl_->executor);
  asio::co_spawn(impl_->executor, query(host, Type::aaaa), [v6](const std::exception_ptr& error, Answer answer) {
    if (error) {
      v6->answer.status = Status::temporary;
      v6->answer.error = "lookup failed";
    } else {
      v6->answer = std::move(answer);
    }
    v6->finish();
  });
  auto v4 = co_await query(host, Type::a);
  while (!v6->done) co_await v6->wake.async_wait(net::use_tuple);
  AddressAnswer out;
  for (const auto* answer : {&v6->answer, &v4}) {
    for (const auto& r : answer->records) {
      if (r.data.size() == 16) {
        asio::ip::address_v6::bytes_type bytes;
        std::memcpy(bytes.data(), r.data.data(), 16);
        out.addresses.emplace_back(asio::ip::address_v6(bytes));
      } else if (r.data.size() == 4) {
        asio::ip::address_v4::bytes_type bytes;
        std::memcpy(bytes.data(), r.data.data(), 4);
        out.addresses.emplace_back(asio::ip::address_v4(bytes));
      }
    }
  }
  // Addresses of either family are an answer; otherwise the worse of the two outcomes.
  if (!out.addresses.empty()) {
    out.status = Status::ok;
  } else if (v4.status == Status::temporary || v6->answer.status == Status::temporary) {
    out.status = Status::temporary;
    out.error = v4.status == Status::temporary ? v4.error : v6->answer.error;
  } else if (v4.status == Status::nxdomain && v6->answer.status == Status::nxdomain) {
    out.status = Status::nxdomain;
    out.error = v4.error;
  } else {
    out.status = Status::no_data;
  }
  co_return out;
}

SharedResolver::SharedResolver(asio::io_context& io, const std::vector<std::string>& servers,
                               std::chrono::milliseconds timeout, std::shared_ptr<Cache> cache)
    : strand_(asio::make_strand(io)), resolver_(strand_, servers, timeout, std::move(cache)) {}

net::awaitable<Answer> SharedResolver::query(std::string name, Type type) {
  // The lookup's coroutine is made here but first runs on the strand (awaitables start only
  // when spawned or awaited).
  auto answer = co_await asio::co_spawn(strand_, resolver_.query(std::move(name), type), asio::use_awaitable);
  co_return answer;
}

net::awaitable<std::vector<Answer>> SharedResolver::query_all(std::vector<Question> questions) {
  auto caller = co_await asio::this_coro::executor;
  struct State {
    explicit State(const asio::any_io_executor& ex, std::size_t n) : answers(n), left(n), done(ex) {
      done.expires_at(asio::steady_timer::time_point::max());
    }
    std::vector<Answer> answers;
    std::size_t left;
    asio::steady_timer done;
  };
  auto state = std::make_shared<State>(caller, questions.size());
  for (std::size_t i = 0; i < questions.size(); ++i) {
    // Each completes on the caller's strand, so the count and the timer are only touched there.
    asio::co_spawn(strand_, resolver_.query(std::move(questions[i].name), questions[i].type),
                   asio::bind_executor(caller, [state, i](const std::exception_ptr& error, Answer answer) {
                     if (error)
                       state->answers[i].error = "lookup failed";
                     else
                       state->answers[i] = std::move(answer);
                     if (--state->left == 0) state->done.cancel();
                   }));
  }
  while (state->left > 0) co_await state->done.async_wait(net::use_tuple);
  co_return std::move(state->answers);
}

void SharedResolver::cancel() {
  asio::dispatch(strand_, [this] { resolver_.cancel(); });
}

}  // namespace mailstead::dns
