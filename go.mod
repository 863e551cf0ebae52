module github.com/clipmill/clipmill

go 1.26.8

require (
	github.com/esimov/pigo v1.4.6
	golang.org/x/image v0.48.0
)

require golang.org/x/text v0.44.0 // indirect
