#!/bin/sh
echo "benchmarks not written yet" >&2
exit 1
