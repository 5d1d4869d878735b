from django import template

from backups import formats

register = template.Library()
register.filter("duration_text", formats.duration_text)
