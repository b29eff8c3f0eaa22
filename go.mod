module github.com/semcom/semcom

go 1.24

require (
	github.com/sirupsen/logrus v1.10.2
	github.com/spf13/cobra v1.10.2
)

require (
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/spf13/pflag v1.0.10 // indirect
	golang.org/x/sys v0.29.0 // indirect
)
