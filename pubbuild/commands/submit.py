"""`python build.py submit`: the journal package, checked against a profile."""

from __future__ import annotations

from pubbuild import formats, jatsmeta, manifest, pandoc, pipeline, titlepage
from pubbuild.commands import size
from pubbuild.diagnostics import BuildError, display_path
from pubbuild.files import write_all
from pubbuild.outputs import FORMATS, output_name


def run(args) -> int:
    """The journal package in OUT/submission/ and OUT/submission.zip."""
    from pubbuild import submission, wordref

    progress = pipeline.Progress(args.quiet)
    profile = submission.load_profile(args.profile)
    with progress.stage("read + filters"):
        source = pipeline.read(args.manuscript, args.csl)
        before = pipeline.run_filters(source, through_citeproc=False,
                                      without=("backlinks",))
        doc = pipeline.finish(pandoc.copy(before), source, without=("backlinks",))
    requirements = submission.check(profile, doc, source.csl)
    failed = [r for r in requirements if not r.ok]
    for requirement in requirements:
        progress.say(str(requirement))
    if failed and not args.force:
        raise BuildError(f"fails the journal profile {profile.path.stem!r}: "
                         + "; ".join(r.failure for r in failed)
                         + " (--force packages it anyway)", source.path)
    name = source.path.stem
    inventory, when = pipeline.plan(source, doc)
    job = formats.Job(source.path, name, source.reporter, when.moment)
    reference = wordref.reference_docx(**profile.docx)
    files: dict[str, bytes] = {}
    manuscript = as_submitted(doc, profile)
    with progress.stage("manuscript PDF + DOCX"):
        files[f"{name}.pdf"] = formats.pdf(manuscript, job)
        files[f"{name}.docx"] = formats.docx(manuscript, job, reference)
    if profile.title_page == "separate":
        with progress.stage("title page"):
            title_page = titlepage.title_page(doc)
            files["title-page.pdf"] = formats.pdf(title_page, job)
            files["title-page.docx"] = formats.docx(title_page, job, reference)
    anonymous = []
    if profile.anonymised:
        with progress.stage("anonymised PDF + DOCX"):
            blind, authors, masked = anonymised(source, before, doc, profile)
            blind_job = formats.Job(source.path, "manuscript-anonymous",
                                    source.reporter, when.moment)
            files["manuscript-anonymous.pdf"] = formats.pdf(blind, blind_job)
            files["manuscript-anonymous.docx"] = formats.docx(blind, blind_job,
                                                              reference)
            anonymous = ["manuscript-anonymous.pdf", "manuscript-anonymous.docx"]
            leaks = submission.scan({n: files[n] for n in anonymous}, authors.needles)
            if leaks:
                raise BuildError("the anonymised manuscript names an author: "
                                 + leaks[0], source.path)
    with progress.stage("JATS"):
        files[output_name(name, "jats")] = FORMATS["jats"].write(
            jatsmeta.with_journal(doc, profile.get("journal")), job)
    for label, path in inventory.source_files().items():
        files[f"source/{label}"] = path.read_bytes()
    inventory.outputs = {k: v for k, v in files.items() if not k.startswith("source/")}
    listing = inventory.complete()
    listing["submission"] = {
        "profile": profile.path.stem,
        "title-page": profile.title_page,
        "requirements": [{"name": r.name, "measured": r.measured, "limit": r.limit,
                          "ok": r.ok} for r in requirements],
        "forced": bool(failed),
        "anonymised": anonymous,
        "self-citations-masked": sorted(masked) if anonymous else [],
    }
    files["MANIFEST.json"] = manifest.to_json(listing)
    out = args.out.resolve()
    package = submission.zip_files(files, when.moment)
    written = {**{out / "submission" / label: data for label, data in files.items()},
               out / "submission.zip": package}
    with_meca = args.meca or profile.meca
    if with_meca:
        from pubbuild import meca

        bundle = meca.bundle(files, output_name(name, "jats"), when.moment)
        errors = meca.validate(bundle)
        if errors:
            raise BuildError(f"the MECA package is not sound: {errors[0]}", source.path)
        written[out / "submission.meca"] = bundle
    write_all(written)
    progress.say(f"wrote {display_path(out / 'submission')}/ ({len(files)} files) and "
                 f"{display_path(out / 'submission.zip')} ({size(len(package))})")
    if with_meca:
        progress.say(f"wrote {display_path(out / 'submission.meca')} "
                     f"({size(len(written[out / 'submission.meca']))})")
    return 0


def as_submitted(doc, profile):
    """The manuscript as the package has it: the title page on its first
    page when the profile says so (`respond` counts pages in this one)."""
    if profile.title_page != "first-page":
        return doc
    manuscript = pandoc.copy(doc)
    manuscript.content = [*titlepage.title_page(doc).content, *manuscript.content]
    return manuscript


def anonymised(source, before, doc, profile):
    """(the anonymised manuscript, its authors, the self-citations masked),
    from the document before citeproc (`before`): names gone, self-citations
    masked if the profile says so."""
    from pubbuild import submission

    authors = submission.authors_of(doc)
    masked = (submission.self_cited(source.index, authors)
              if profile.get("mask-self-citations", True) else {})
    return (pipeline.finish(submission.anonymise(pandoc.copy(before), masked),
                            source, without=("backlinks",)), authors, masked)
