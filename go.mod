module github.com/semcom/semcom

go 1.24
