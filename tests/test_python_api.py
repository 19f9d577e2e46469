"""The README's Python example runs as written (on tiny generated data)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_python_example_runs_and_resumes_in_place(tiny_env, capsys, monkeypatch):
    monkeypatch.setenv("DIGITNET_CHECKSUMS", tiny_env["DIGITNET_CHECKSUMS"])
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    code = code.replace('DigitDataModule(dataset="mnist", batch_size=64)',
                        'DigitDataModule(dataset="mnist", batch_size=64, val_size=100)')
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    run = Path("checkpoints/py-demo")
    assert (run / "last.ckpt").is_file() and (run / "best.ckpt").is_file()
    assert namespace["trainer"].current_epoch == 4
    assert "(0): Linear(in_features=784, out_features=512, bias=True)" in capsys.readouterr().out
    rows = (run / "metrics.csv").read_text().splitlines()
    epochs = {line.split(",")[0] for line in rows[1:]}
    assert epochs == {"0", "1", "2", "3"}
