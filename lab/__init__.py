"""The tests' laboratory: the world generated projects are proven in, kept apart from the proofs.

    engine     a Docker engine: the one that answers, or one started and stopped here
    standins   local stand-ins for the published base images, when no registry answers
    pythons    a CPython for every python_version choice, on the host and in the stand-ins
    debian     the machine's Debian mirror, and newer tools unpacked from Debian sid
    record     published-images.yml, the image references a project names, the registries
    template   the template's questions and the values copier.yml computes from answers
    project    what the tests and the benchmark do to a generated project
    machine    the environment every run of copier and uv sees
    registry   a local OCI registry (Debian's docker-registry) for the image jobs' pushes

`python -m lab --help` lists what runs on its own. Nothing here is a test: tests/ holds those.
"""
