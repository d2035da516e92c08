#pragma once
// Long-lived background loops (the queue runner, the change watcher, store maintenance) must
// never die quietly: a loop that ends with an exception is logged with its name and started
// again after a pause, so one bad entry or a passing store failure costs a retry, not the
// service. A loop that returns has finished (it was stopped) and is not restarted; a loop
// restarted after its stop() sees that it is stopping and returns at once.

#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <utility>

#include "common/log/log.hpp"
#include "common/net/asio.hpp"

namespace mailstead::net {

// `start()` gives a fresh run of the loop each time: a named coroutine function taking what it
// needs by value (see "Coroutine rules" in docs/ARCHITECTURE.md), e.g. [this] { return loop(); }.
template <class Executor, class Start>
void supervise(Executor executor, std::string name, Start start,
               std::chrono::milliseconds pause = std::chrono::seconds(5)) {
  asio::co_spawn(executor, start(),
                 [executor, name = std::move(name), start, pause](const std::exception_ptr& e) mutable {
                   if (!e) return;
                   log::error("-", "loop_failed", "loop={} error={} restart_in_ms={}", name,
                              log::quoted(log::describe(e), 500), pause.count());
                   auto timer = std::make_shared<asio::steady_timer>(executor, pause);
                   timer->async_wait([timer, executor, name = std::move(name), start, pause](error_code) mutable {
                     supervise(executor, std::move(name), std::move(start), pause);
                   });
                 });
}

}  // namespace mailstead::net
