"""resources/ (data, not code) lives at the top of the repository; wheels carry it as halluview/resources."""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["halluview", "halluview.*"]) + ["halluview.resources"],
    package_dir={"halluview.resources": "resources"},
    package_data={"halluview.resources": ["**/*"]},
)
