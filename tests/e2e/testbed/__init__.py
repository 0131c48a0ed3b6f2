"""A real Docker engine, a loopback registry and offline stand-in base images.

The engine tests and the image benchmark prove rendered repositories on a real engine.
This package finds (or starts) that engine, runs a registry of its own on loopback, builds
stand-ins for the official base images with debootstrap (nothing can be pulled from public
registries here) and removes everything it or the tests created. It has no pytest
dependency so that `benchmarks/image.py` can use it too.

One module per concern; import names from the module that defines them:

- `engine`: Engine, ensure_engine (finds or starts dockerd), the docker client and its
  shim, run and poll, TestbedError and EngineUnavailable, TEST_LABEL;
- `registry`: Registry, start_registry, http_request, MANIFEST_TYPES, cosign's tags;
- `standins`: the stand-in base images (their packages, slimming, the distroless-style
  root, npm packages) and standin_key, standin_tarball, import_standin, publish_standin;
- `cleanup`: sweep and the listings of volumes, images and compose objects it removes;
- `mirror`: debian_mirror, MIRROR, MIRROR_ENV, DEFAULT_MIRROR (imports nothing else
  here, so unit tests can use it without the engine code);
- `bed`: Testbed, open_testbed and the `testbed()` context manager.

This file imports none of them, so that importing `mirror` loads nothing else.
"""
