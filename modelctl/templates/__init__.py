"""Starting specs written by `modelctl init`: one YAML file per template, named `<template>.yaml`."""
