#pragma once
// A visitor made of lambdas, one per alternative: std::visit(Overloaded{...}, v). With no
// catch-all lambda among them, a new alternative without its own lambda does not compile;
// the sessions' command dispatch relies on that.

namespace mailstead {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace mailstead
