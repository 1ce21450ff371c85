" ptag rule files
autocmd BufRead,BufNewFile *.ptag setfiletype ptag
