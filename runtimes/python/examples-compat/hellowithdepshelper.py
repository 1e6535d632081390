# Test copy of the original example: it fetched https://www.google.com/ and
# returned the page title parsed with BeautifulSoup. Tests point PAGE_URL at a
# local server and put a stand-in bs4 package on PYTHONPATH (deps/).
import os
import urllib.request

from bs4 import BeautifulSoup

PAGE_URL = os.environ.get('PAGE_URL', 'https://www.google.com/')


def foo(event, context):
    page = urllib.request.urlopen(PAGE_URL, timeout=10).read()
    soup = BeautifulSoup(page, 'html.parser')
    return soup.title.string
