// The metrics, one line each: the one place that says what a metric is.
// Everything else (the Metric enum, the partner's layout, the engine's state
// update and range checks, the JIT's loads, the catalogue, the store's
// columns, the server's JSON and the page's metadata) is made from this list
// or walks it.
//
// The order is the metrics' order everywhere: Metric's values, snapshots,
// the store's `partners` columns, the server's JSON. Append only.
//
//   X(name, unit, slot, adds, by, takes, summary)
//   name     as rules, queries and JSON write it
//   unit     count: a whole number of events, at most 2^32-1 (Partner::counts)
//            money: millionths, a signed 64-bit sum (Partner::money)
//   slot     its place among the metrics of its unit
//   adds     the event type that adds to it
//   by       what such an event adds: one (1), amount (data.amount), or
//            new_customer (1 when data.customer is new to the partner)
//   takes    the event type that takes data.amount from it (none: no type)
//   summary  what it holds, for hover, completion and help
#pragma once

#define PTAG_METRICS(X)                                                                                           \
  X(signups, count, 0, signup, one, none, "the partner's signup events: referred customers or leads")            \
  X(customers, count, 1, sale, new_customer, none,                                                               \
    "the distinct paying customers (data.customer of the partner's sales)")                                      \
  X(revenue, money, 0, sale, amount, refund,                                                                     \
    "the amounts of the partner's sales less its refunds (exact, six decimals)")                                 \
  X(sales, count, 2, sale, one, none, "the partner's sale events")                                               \
  X(clicks, count, 3, click, one, none, "the partner's click events")                                            \
  X(commissions, money, 1, commission, amount, none, "the amounts of the partner's commission events")
