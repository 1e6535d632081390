VALUE = 'from sibling'
