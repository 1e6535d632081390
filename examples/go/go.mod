module function

go 1.21

require github.com/sirupsen/logrus v1.6.0
