"""The wheel carries libaefeatures.so (x86-64 Linux) but no Python extension module: marking it
platform-specific tags it py3-none-<platform> (any Python 3, this platform), which auditwheel
then repairs into a manylinux wheel (scripts/wheel). Everything else is in pyproject.toml."""
from setuptools import Distribution, setup

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel


class BinaryDistribution(Distribution):
    def has_ext_modules(self):  # the library is installed as platform code (platlib)
        return True


class PlatformWheel(bdist_wheel):
    def get_tag(self):  # no extension module: any Python 3, any ABI, this platform
        return "py3", "none", super().get_tag()[2]


setup(distclass=BinaryDistribution, cmdclass={"bdist_wheel": PlatformWheel})
