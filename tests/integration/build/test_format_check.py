# Every C source and header the project tracks is formatted as .clang-format says.
# labels: lint
# timeout: 120
import subprocess

from framework import host, paths


def test_every_c_file_is_formatted():
    host.require("clang-format")
    files = subprocess.run(["git", "ls-files", "*.c", "*.h"], cwd=paths.SOURCE_DIR,
                           capture_output=True, text=True, check=True).stdout.split()
    assert files, "git ls-files found no C file"
    run = subprocess.run(["clang-format", "--dry-run", "--Werror", *files], cwd=paths.SOURCE_DIR,
                         capture_output=True, text=True)
    assert run.returncode == 0, f"run clang-format -i on these:\n{run.stderr[-6000:]}"
