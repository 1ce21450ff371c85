// The platform presets of [[sources]] (docs/serve.md, "Presets"): each sets
// the scheme, the signature header, the amount unit, the field paths and the
// type mapping; a source's own keys override them one by one.
#include "config.hpp"

namespace ptag::serve {

namespace {

FieldPath paths(std::initializer_list<const char*> list) {
  FieldPath p;
  for (const char* s : list) p.paths.emplace_back(s);
  return p;
}

TypeMapping to(const char* type, std::initializer_list<std::pair<const char*, FieldPath>> fields = {}) {
  TypeMapping m{type, {}};
  for (const auto& [key, path] : fields) m.fields[key] = path;
  return m;
}

}  // namespace

SourceConfig preset(SourceKind kind) {
  SourceConfig s;
  s.kind = kind;
  switch (kind) {
    case SourceKind::custom:
      s.scheme = SourceScheme::hmac_hex;
      break;
    case SourceKind::partnero:
      // Envelope {event, created_at, data}; amounts in major units.
      s.scheme = SourceScheme::hmac_hex;
      s.signature_header = "Signature";
      s.fields = {{"type", paths({"event"})},
                  {"partner", paths({"data.partner.key", "data.partner.id", "data.customer.partner.key",
                                     "data.customer.partner.id"})},
                  {"time", paths({"data.created_at", "created_at", "timestamp"})},
                  {"id", paths({"data.key", "data.id"})},
                  {"amount", paths({"data.amount"})},
                  {"customer", paths({"data.customer.key", "data.customer.id"})}};
      s.types = {{"partner.created", to("join", {{"partner", paths({"data.key", "data.id"})}})},
                 {"customer.created", to("signup", {{"customer", paths({"data.key", "data.id"})}})},
                 {"transaction.created", to("sale")},
                 {"transaction.deleted", to("refund")},
                 {"reward.created", to("commission")}};
      break;
    case SourceKind::rewardful:
      // Envelope {object, event, request}; amounts in cents.
      s.scheme = SourceScheme::hmac_hex;
      s.signature_header = "X-Rewardful-Signature";
      s.amount_unit = AmountUnit::cents;
      s.fields = {{"type", paths({"event.type"})},
                  {"partner", paths({"object.affiliate.id", "object.sale.affiliate.id"})},
                  {"time", paths({"event.created_at", "object.created_at"})},
                  {"id", paths({"object.id"})},
                  {"customer", paths({"object.referral.customer.id", "object.customer.id",
                                      "object.sale.referral.customer.id"})}};
      s.types = {{"affiliate.created", to("join", {{"partner", paths({"object.id"})}})},
                 {"referral.lead", to("signup")},
                 {"sale.created", to("sale", {{"amount", paths({"object.sale_amount_cents"})},
                                              {"time", paths({"object.charged_at", "event.created_at",
                                                              "object.created_at"})}})},
                 {"sale.refunded", to("refund", {{"amount", paths({"object.refund_amount_cents"})}})},
                 {"commission.created", to("commission", {{"amount", paths({"object.amount"})}})}};
      break;
    case SourceKind::tolt:
      // Standard Webhooks (sent by Svix); envelope {type, data, timestamp}; cents as strings.
      s.scheme = SourceScheme::standard_webhooks;
      s.amount_unit = AmountUnit::cents;
      s.fields = {{"type", paths({"type"})},
                  {"partner", paths({"data.partner_id"})},
                  {"time", paths({"data.created_at", "timestamp"})},
                  {"id", paths({"header:webhook-id", "header:svix-id"})},
                  {"amount", paths({"data.amount"})},
                  {"customer", paths({"data.customer_id"})}};
      s.types = {{"partner.created", to("join", {{"partner", paths({"data.id"})}})},
                 {"customer.created", to("signup", {{"customer", paths({"data.id"})}})},
                 {"transaction.created", to("sale")},
                 {"commission.created", to("commission")}};
      break;
    case SourceKind::firstpromoter:
      // Webhooks v1: envelope {event: {id, type, created_at}, data}; cents.
      s.scheme = SourceScheme::token;
      s.signature_header = "Authorization";
      s.amount_unit = AmountUnit::cents;
      s.fields = {{"type", paths({"event.type"})},
                  {"partner", paths({"data.promoter.id"})},
                  {"time", paths({"event.created_at", "data.created_at"})},
                  {"id", paths({"event.id"})},
                  {"customer", paths({"data.id"})}};
      s.types = {{"promoter_accepted", to("join", {{"partner", paths({"data.id"})}})},
                 {"lead_signup", to("signup")},
                 {"reward_created", to("commission", {{"amount", paths({"data.amount"})},
                                                      {"customer", paths({"data.lead.id"})}})}};
      break;
  }
  return s;
}

}  // namespace ptag::serve
