#!/bin/sh
set -eu
docker build -t registry.example.com/app:latest .
docker push registry.example.com/app:latest
