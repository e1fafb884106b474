module prism-json/expvarcheck

go 1.22
