" Vim syntax file for ptag rule files (.ptag); Vim 8 and Neovim.
if exists("b:current_syntax")
  finish
endif

syn keyword ptagKeyword rule on when let exclusive import test for currency timezone
syn keyword ptagAction add remove emit
syn keyword ptagTrigger join update click signup sale refund commission event
syn keyword ptagTrigger first_click first_signup first_sale first_commission
syn keyword ptagTrigger milestone anniversary inactive no_referral tag_added tag_removed
syn keyword ptagMetric signups customers revenue sales clicks commissions
syn keyword ptagMetric days_since_join days_since_activity
syn keyword ptagOperator and or not in tagged
syn keyword ptagBoolean true false
syn keyword ptagTestStep at expect tick has lacks tags records by rejected no
syn match ptagField "\<\(event\|partner\)\.\h\w*"
syn match ptagTime "\<\d\{4}-\d\d-\d\d\(T\d\d:\d\d:\d\d\(Z\|[+-]\d\d:\d\d\)\=\)\=\>"
syn match ptagNumber "\<\d\+\(\.\d\+\)\=\>"
syn match ptagDuration "\<\d\+[smhdw]\>"
syn match ptagEscape contained "\\."
syn region ptagString start=+"+ skip=+\\.+ end=+"\|$+ contains=ptagEscape oneline
syn match ptagComment "#.*$" contains=@Spell

hi def link ptagKeyword Keyword
hi def link ptagAction Statement
hi def link ptagTrigger Function
hi def link ptagMetric Identifier
hi def link ptagOperator Operator
hi def link ptagBoolean Boolean
hi def link ptagTestStep PreProc
hi def link ptagField Identifier
hi def link ptagTime Constant
hi def link ptagNumber Number
hi def link ptagDuration Number
hi def link ptagEscape SpecialChar
hi def link ptagString String
hi def link ptagComment Comment

setlocal commentstring=#\ %s
let b:current_syntax = "ptag"
