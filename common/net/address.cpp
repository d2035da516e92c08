#include "common/net/address.hpp"

namespace mailstead::net {

asio::ip::address canonical(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  return address;
}

const config::Cidr* find_network(const asio::ip::address& address, std::span<const config::Cidr> networks) {
  auto a = canonical(address);
  auto contains = [&](const config::Cidr& network) {
    if (a.is_v4()) {
      auto bytes = a.to_v4().to_bytes();
      return config::cidr_contains(network, bytes.data(), bytes.size());
    }
    auto bytes = a.to_v6().to_bytes();
    return config::cidr_contains(network, bytes.data(), bytes.size());
  };
  for (const auto& network : networks)
    if (contains(network)) return &network;
  return nullptr;
}

}  // namespace mailstead::net
