module github.com/suanli/suanli

go 1.26.0
