# tests/unit: unit tests of the library's modules and the tier tests (see the owner's notes when filled in).
