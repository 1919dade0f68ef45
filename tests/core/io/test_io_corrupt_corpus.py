"""Hundreds of malformed files: each must end in ScanReadError or a valid Scan; never another exception, a crash
or a hang. Reads run in a worker subprocess with a per-file timeout; a crash or timeout restarts the worker."""
from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from make_corrupt_corpus import make_corrupt_corpus

WORKER = Path(__file__).with_name("corpus_worker.py")
PER_FILE_TIMEOUT_S = 20.0


class CorpusRunner:
    """Feeds paths to ``corpus_worker.py`` one at a time; records timeouts and crashes as outcomes."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen(
                [sys.executable, str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, text=True, bufsize=1, env={**os.environ, "PYTHONWARNINGS": "error"},
            )
        return self.process

    def read(self, path: Path) -> dict:
        process = self._start()
        process.stdin.write(f"{path}\n")
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], PER_FILE_TIMEOUT_S)
        line = process.stdout.readline() if ready else ""
        if line:
            return json.loads(line)
        self.stop()
        outcome = "crash" if ready else "timeout"
        return {"path": str(path), "outcome": outcome, "detail": f"worker {outcome} (exit {process.returncode})"}

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process.stdin.close()
            self.process.stdout.close()
            self.process = None


@pytest.mark.skipif(sys.platform == "win32", reason="select() on pipes needs a POSIX system")
def test_every_malformed_file_gives_a_scan_read_error_or_a_valid_scan(tmp_path):
    corpus = make_corrupt_corpus(tmp_path / "corpus")
    assert len(corpus) >= 200
    runner = CorpusRunner()
    try:
        results = [runner.read(path) for path in corpus]
    finally:
        runner.stop()
    counts = Counter(result["outcome"] for result in results)
    failures = [result for result in results if result["outcome"] not in ("scan", "read_error")]
    report = "\n".join(f"{Path(r['path']).name}: {r['outcome']}: {r['detail']}" for r in failures[:20])
    assert not failures, f"{len(failures)} of {len(results)} files misbehaved {dict(counts)}:\n{report}"
    assert counts["read_error"] >= len(corpus) // 2, "most malformed files should be refused"
