// The platform presets of [[sources]] (docs/serve.md, "Presets"): each sets
// the scheme, the signature header, the amount unit, the field paths and the
// type mapping; a source's own keys override them one by one. Each path
// follows the platform's documented webhook payload (tests/data/webhooks).
#include "config.hpp"

namespace ptag::serve {

namespace {

using Fields = std::map<std::string, FieldPath, std::less<>>;

FieldPath paths(std::initializer_list<const char*> list) {
  FieldPath p;
  for (const char* s : list) p.paths.emplace_back(s);
  return p;
}

// No path: the field is left out for this type (an id that would merge distinct events).
const FieldPath none{};

TypeMapping to(const char* type, Fields fields = {}) { return {type, std::move(fields)}; }

Fields with(Fields fields, const Fields& more) {
  for (const auto& [key, path] : more) fields[key] = path;
  return fields;
}

// A join's and an update's data become the partner's attributes
// (docs/events.md): its name, email and country where the payload has them.

// partner.*: Partnero's partner object (id or key, email, name, surname).
Fields partnero_partner() {
  return {{"partner", paths({"data.key", "data.id"})},
          {"email", paths({"data.email"})},
          {"first_name", paths({"data.name"})},
          {"last_name", paths({"data.surname"})}};
}

// affiliate.*: Rewardful's affiliate object.
Fields rewardful_affiliate() {
  return {{"partner", paths({"object.id"})},
          {"email", paths({"object.email"})},
          {"first_name", paths({"object.first_name"})},
          {"last_name", paths({"object.last_name"})}};
}

// partner.*: Tolt's partner object.
Fields tolt_partner() {
  return {{"partner", paths({"data.id"})},
          {"name", paths({"data.display_name"})},
          {"first_name", paths({"data.first_name"})},
          {"last_name", paths({"data.last_name"})},
          {"email", paths({"data.email"})},
          {"country", paths({"data.country_code"})},
          {"company", paths({"data.company_name"})}};
}

// promoter_*: FirstPromoter's promoter object, its name and country in `profile`.
Fields firstpromoter_promoter() {
  return {{"email", paths({"data.promoter.email"})},
          {"first_name", paths({"data.promoter.profile.first_name"})},
          {"last_name", paths({"data.promoter.profile.last_name"})},
          {"country", paths({"data.promoter.profile.country"})},
          {"company", paths({"data.promoter.profile.company_name"})}};
}

void partnero(SourceConfig& s) {
  // Envelope {event, created_at or timestamp, data}; amounts in major units; no event id.
  s.scheme = SourceScheme::hmac_hex;
  s.signature_header = "Signature";
  s.fields = {{"type", paths({"event"})},
              {"partner", paths({"data.partner.key", "data.partner.id", "data.customer.partner.key",
                                 "data.customer.partner.id"})},
              {"time", paths({"data.created_at", "created_at", "timestamp"})},
              {"id", paths({"data.key", "data.id"})},
              {"amount", paths({"data.amount"})},
              {"customer", paths({"data.customer.key", "data.customer.id"})}};
  s.types = {{"partner.created", to("join", partnero_partner())},
             // The partner's key would make every later update a duplicate of the first.
             {"partner.updated", to("update", with(partnero_partner(),
                                                   {{"id", none},
                                                    {"time", paths({"created_at", "timestamp", "data.updated_at"})}}))},
             {"customer.created", to("signup", {{"customer", paths({"data.key", "data.id"})}})},
             {"transaction.created", to("sale")},
             {"transaction.deleted", to("refund")},
             {"reward.created", to("commission")}};
}

void rewardful(SourceConfig& s) {
  // Envelope {object, event: {id, type, created_at}, request}; amounts in cents of object.currency.
  s.scheme = SourceScheme::hmac_hex;
  s.signature_header = "X-Rewardful-Signature";
  s.amount_unit = AmountUnit::cents;
  // event.id: one per event (the same on retries), so each refund of a sale is its own event.
  s.fields = {{"type", paths({"event.type"})},
              {"partner", paths({"object.affiliate.id", "object.sale.affiliate.id"})},
              {"time", paths({"event.created_at", "object.created_at"})},
              {"id", paths({"event.id", "object.id"})},
              {"customer", paths({"object.referral.customer.id", "object.customer.id",
                                  "object.sale.referral.customer.id"})}};
  const Fields currency{{"currency", paths({"object.currency"})}};
  s.types = {{"affiliate.created", to("join", rewardful_affiliate())},
             {"affiliate.updated", to("update", rewardful_affiliate())},
             {"referral.lead", to("signup")},
             // A paying customer: not a second signup of the referral its lead already counted.
             {"referral.converted", to("conversion")},
             {"sale.created", to("sale", with(currency, {{"amount", paths({"object.sale_amount_cents"})},
                                                         {"time", paths({"object.charged_at", "event.created_at",
                                                                         "object.created_at"})}}))},
             // The sale's refunded total so far, not this refund's part: the server
             // takes back the difference from what it took back before (docs: "Refunds as totals").
             {"sale.refunded", to("refund", with(currency, {{"amount", paths({"object.refund_amount_cents"})},
                                                            {"refunded_total", paths({"object.refund_amount_cents"})},
                                                            {"refund_of", paths({"object.id"})}}))},
             {"commission.created", to("commission", with(currency, {{"amount", paths({"object.amount"})}}))}};
}

void tolt(SourceConfig& s) {
  // Standard Webhooks (sent by Svix); envelope {type, data, timestamp}; cents as strings.
  s.scheme = SourceScheme::standard_webhooks;
  s.amount_unit = AmountUnit::cents;
  s.fields = {{"type", paths({"type"})},
              {"partner", paths({"data.partner_id"})},
              {"time", paths({"data.created_at", "timestamp"})},
              {"id", paths({"header:webhook-id", "header:svix-id"})},
              {"amount", paths({"data.amount"})},
              {"customer", paths({"data.customer_id"})}};
  const Fields currency{{"currency", paths({"data.currency"})}};
  const Fields changed_at{{"time", paths({"data.updated_at", "timestamp"})}};
  s.types = {{"partner.created", to("join", tolt_partner())},
             {"partner.updated", to("update", with(tolt_partner(), changed_at))},
             {"customer.created", to("signup", {{"customer", paths({"data.id"})}})},
             {"transaction.created", to("sale", currency)},
             // Tolt refunds a transaction whole, once: keyed by the transaction, later
             // updates of a refunded transaction are duplicates, not more refunds.
             {"transaction.updated[data.status=refunded]",
              to("refund", with(with(currency, changed_at), {{"id", paths({"data.id"})}}))},
             {"commission.created", to("commission", currency)}};
}

void firstpromoter(SourceConfig& s) {
  // Webhooks v1: envelope {event: {id, type, created_at}, data}; cents.
  s.scheme = SourceScheme::token;
  s.signature_header = "Authorization";
  s.amount_unit = AmountUnit::cents;
  s.fields = {{"type", paths({"event.type"})},
              {"partner", paths({"data.promoter.id"})},
              {"time", paths({"event.created_at", "data.created_at"})},
              {"id", paths({"event.id"})},
              {"customer", paths({"data.id"})}};
  const Fields lead{{"customer", paths({"data.lead.id"})}};
  s.types = {{"promoter_signed_up", to("update", firstpromoter_promoter())},
             {"promoter_accepted", to("join", firstpromoter_promoter())},
             {"lead_signup", to("signup")},
             {"reward_created", to("commission", with(lead, {{"amount", paths({"data.amount"})}}))},
             // v1 has no sale event: a direct (tier 1) reward carries the sale that earned
             // it, keyed by the sale's own id so that two rewards of one sale count it once.
             {"reward_created[data.tier_level=1]",
              to("sale", with(lead, {{"amount", paths({"data.conversion_amount"})},
                                     {"id", paths({"data.event_id"})}}))}};
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
      partnero(s);
      break;
    case SourceKind::rewardful:
      rewardful(s);
      break;
    case SourceKind::tolt:
      tolt(s);
      break;
    case SourceKind::firstpromoter:
      firstpromoter(s);
      break;
  }
  return s;
}

}  // namespace ptag::serve
