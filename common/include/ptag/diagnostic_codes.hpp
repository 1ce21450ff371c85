// Every diagnostic code, in one place (docs/diagnostics.md explains each).
#pragma once

#include <string_view>

namespace ptag::codes {

// Syntax
inline constexpr std::string_view kSyntax = "E001";
inline constexpr std::string_view kNumberRange = "E002";
inline constexpr std::string_view kBadTime = "E003";
inline constexpr std::string_view kReadFile = "E004";

// Names and shapes
inline constexpr std::string_view kUnknownTrigger = "E101";
inline constexpr std::string_view kTriggerArgument = "E102";
inline constexpr std::string_view kUnknownMetric = "E103";
inline constexpr std::string_view kUnknownEventType = "E104";
inline constexpr std::string_view kUnknownDurationUnit = "E105";
inline constexpr std::string_view kBadDuration = "E106";
inline constexpr std::string_view kMilestoneThreshold = "E107";
inline constexpr std::string_view kUndefinedName = "E108";
inline constexpr std::string_view kEventFieldInTimerRule = "E109";
inline constexpr std::string_view kDuplicateRuleName = "E110";
inline constexpr std::string_view kTagInTwoGroups = "E111";
inline constexpr std::string_view kTagTriggerCycle = "E112";
inline constexpr std::string_view kImportNotFound = "E113";
inline constexpr std::string_view kImportCycle = "E114";
inline constexpr std::string_view kDuplicateConstant = "E115";
inline constexpr std::string_view kConstantShadows = "E116";
inline constexpr std::string_view kGuardKind = "E117";
inline constexpr std::string_view kInNeedsList = "E118";
inline constexpr std::string_view kEmptyName = "E119";
inline constexpr std::string_view kBuiltinAsCustomEvent = "E120";
inline constexpr std::string_view kExclusiveGroup = "E121";
inline constexpr std::string_view kDuplicateTestName = "E122";
inline constexpr std::string_view kTestStep = "E123";
inline constexpr std::string_view kBadCurrency = "E124";
inline constexpr std::string_view kTwoCurrencies = "E125";
inline constexpr std::string_view kUnknownTimeZone = "E126";
inline constexpr std::string_view kTwoTimeZones = "E127";

// Warnings
inline constexpr std::string_view kTagNeverAdded = "W001";
inline constexpr std::string_view kAddAndRemove = "W002";
inline constexpr std::string_view kUnusedConstant = "W003";
inline constexpr std::string_view kAlwaysFalse = "W004";
inline constexpr std::string_view kDivisionByZero = "W005";
inline constexpr std::string_view kTierOrder = "W006";
inline constexpr std::string_view kShortTimer = "W007";
inline constexpr std::string_view kNearBuiltinEvent = "W008";
inline constexpr std::string_view kCaseOnly = "W009";

}  // namespace ptag::codes
