// Licensed to the Apache Software Foundation (ASF) under one
// or more contributor license agreements.  See the NOTICE file
// distributed with this work for additional information
// regarding copyright ownership.  The ASF licenses this file
// to you under the Apache License, Version 2.0 (the
// "License"); you may not use this file except in compliance
// with the License.  You may obtain a copy of the License at
//
//   http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing,
// software distributed under the License is distributed on an
// "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY
// KIND, either express or implied.  See the License for the
// specific language governing permissions and limitations
// under the License.

// Package pulsarpb holds the Go types generated from the Apache Pulsar
// binary-protocol definition (PulsarApi.proto), used by the in-memory test
// broker in package pulsartest.
//
// PulsarApi.proto is a copy of
// github.com/apache/pulsar-client-go@v0.21.0/pulsar/internal/pulsar_proto/PulsarApi.proto
// with two edits: the proto package is renamed from "pulsar.proto" to
// "pulsartest.proto" and go_package points here. The rename is required:
// the client registers its own copy of the same messages in the global
// protobuf registry, and registering identical full names twice panics at
// start-up. The file is registered under the path
// "pulsarpb/PulsarApi.proto" for the same reason. The wire format is
// unaffected by the package name.
//
// The generated PulsarApi.pb.go is checked in; CI does not run protoc.
// To regenerate (protoc 3.21.12 from Debian's protobuf-compiler package and
// protoc-gen-go v1.36.11, matching google.golang.org/protobuf in go.mod):
//
//	apt-get install -y protobuf-compiler
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.11
//	cd internal/pulsartest/pulsarpb && go generate
//
// go generate also runs gofmt on the output, whose struct-field alignment
// differs slightly from what current gofmt wants.
package pulsarpb

//go:generate protoc -I .. --go_out=.. --go_opt=paths=source_relative pulsarpb/PulsarApi.proto
//go:generate gofmt -w PulsarApi.pb.go
