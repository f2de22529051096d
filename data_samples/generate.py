"""Regenerate the bundled synthetic in-hospital-mortality sample.

    python data_samples/generate.py

Writes ``mortality_static.csv`` (one row per patient, outcomes included) and
``mortality_vitals.parquet`` (48 h of hourly vitals and labs, long format) next to this file,
from :func:`lightsaber.data.synthetic.make_mortality_cohort` with its default arguments
(2,000 patients, seed 0). ``tests/data/test_sample_data.py`` checks the committed files equal a
fresh generation.
"""

from pathlib import Path

from lightsaber.data.datasets import SAMPLE_STATIC, SAMPLE_VITALS
from lightsaber.data.synthetic import make_mortality_cohort

if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    static, vitals = make_mortality_cohort()
    static.to_csv(here / SAMPLE_STATIC, index=False)
    vitals.to_parquet(here / SAMPLE_VITALS, index=False)
    print(f"wrote {len(static)} patients and {len(vitals)} measurement rows to {here}")
