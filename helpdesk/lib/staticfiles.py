"""Static files without the Tailwind sources: static/src/*.css are inputs of `npm run build:css`
(which writes static/css/), not files to serve; `collectstatic` skips them."""

from django.contrib.staticfiles.apps import StaticFilesConfig as BaseStaticFilesConfig


class StaticFilesConfig(BaseStaticFilesConfig):
    ignore_patterns = [*BaseStaticFilesConfig.ignore_patterns, "src"]
